import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type CryptoKey } from 'jose';
import { FCM_SCOPE } from './fcm-client.js';

/** How FCM answers a send to a token, per the FCM HTTP v1 error reference. */
export type FcmFailure = 'UNREGISTERED' | 'INVALID_ARGUMENT' | 'QUOTA_EXCEEDED' | 'UNAVAILABLE';

export interface FcmSend {
  token: string;
  message: Record<string, unknown>;
  status: number;
}

export interface FakeFcm {
  /** The base URL to configure as `fcmBaseUrl`. */
  baseUrl: string;
  /** The OAuth2 token endpoint to configure as `fcmTokenUri`. */
  tokenUri: string;
  /** Every send request that carried a valid access token, with the status it was answered. */
  sends: FcmSend[];
  /** Successful JWT-bearer token exchanges. */
  tokenExchanges: number;
  /** Answers the next `times` sends to `token` with `failure`. */
  failToken(token: string, failure: FcmFailure, times?: number): void;
  /** Forgets every access token issued so far, as when Google revokes them. */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

const fcmError = (errorCode: string) => ({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode });

const failures: Record<FcmFailure, { status: number; body: unknown; headers?: Record<string, string> }> = {
  UNREGISTERED: {
    status: 404,
    body: { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [fcmError('UNREGISTERED')] } },
  },
  INVALID_ARGUMENT: {
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'The registration token is not a valid FCM registration token',
        status: 'INVALID_ARGUMENT',
        details: [
          fcmError('INVALID_ARGUMENT'),
          { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] },
        ],
      },
    },
  },
  QUOTA_EXCEEDED: {
    status: 429,
    headers: { 'retry-after': '1' },
    body: { error: { code: 429, message: 'Quota exceeded for the device.', status: 'RESOURCE_EXHAUSTED', details: [fcmError('QUOTA_EXCEEDED')] } },
  },
  UNAVAILABLE: {
    status: 503,
    body: { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE', details: [fcmError('UNAVAILABLE')] } },
  },
};

/**
 * A local FCM: the Google OAuth2 token endpoint (JWT-bearer grant, assertion verified with the
 * service account's public key) and the HTTP v1 send endpoint, which accepts only access tokens
 * it issued and answers errors in FCM's own JSON.
 */
export async function startFakeFcm(account: { projectId: string; clientEmail: string; publicKey: CryptoKey }): Promise<FakeFcm> {
  const issued = new Set<string>();
  const scripted = new Map<string, { failure: FcmFailure; remaining: number }>();
  const sends: FcmSend[] = [];
  let tokenExchanges = 0;
  let tokenUri = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, Buffer.concat(chunks).toString('utf8')).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      });
    });
  });

  async function handle(req: http.IncomingMessage, raw: string): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    if (req.method === 'POST' && req.url === '/token') {
      const form = new URLSearchParams(raw);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
      }
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', account.publicKey, {
          algorithms: ['RS256'],
          issuer: account.clientEmail,
          audience: tokenUri,
          requiredClaims: ['exp', 'iat'],
        });
        if (!String(payload.scope ?? '').split(' ').includes(FCM_SCOPE)) throw new Error('scope');
      } catch {
        return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
      }
      const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
      issued.add(accessToken);
      tokenExchanges += 1;
      return { status: 200, body: { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' } };
    }
    if (req.method === 'POST' && req.url === `/v1/projects/${account.projectId}/messages:send`) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !issued.has(bearer)) {
        return {
          status: 401,
          body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } },
        };
      }
      const message = (JSON.parse(raw) as { message?: Record<string, unknown> }).message ?? {};
      const token = String(message.token ?? '');
      const script = scripted.get(token);
      const failure = script && script.remaining > 0 ? (script.remaining--, script.failure) : undefined;
      const answer = failure ? failures[failure] : { status: 200, body: { name: `projects/${account.projectId}/messages/${Date.now()}${sends.length}` } };
      sends.push({ token, message, status: answer.status });
      return answer;
    }
    return { status: 404, body: { error: { code: 404, message: `no route ${req.method} ${req.url}`, status: 'NOT_FOUND' } } };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUri = `${baseUrl}/token`;
  return {
    baseUrl,
    tokenUri,
    sends,
    get tokenExchanges() {
      return tokenExchanges;
    },
    failToken(token, failure, times = Number.POSITIVE_INFINITY) {
      scripted.set(token, { failure, remaining: times });
    },
    revokeAccessTokens() {
      issued.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
