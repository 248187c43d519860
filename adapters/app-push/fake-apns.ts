import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jwtVerify, type CryptoKey } from 'jose';

/** APNs error reasons the fake can answer, with the status APNs uses for each. */
export type ApnsFailure = 'BadDeviceToken' | 'Unregistered' | 'TooManyRequests' | 'ServiceUnavailable';
const statusOf: Record<ApnsFailure, number> = { BadDeviceToken: 400, Unregistered: 410, TooManyRequests: 429, ServiceUnavailable: 503 };

export interface ApnsPush {
  deviceToken: string;
  headers: Record<string, string>;
  payload: Record<string, unknown>;
  status: number;
}

export interface FakeApns {
  host: string;
  port: number;
  /** The self-signed certificate the fake serves, to configure as `apnsCa`. */
  ca: string;
  /** Every request with a valid provider token, with the status it was answered. */
  pushes: ApnsPush[];
  /** HTTP/2 connections opened to the fake so far. */
  connections: number;
  failToken(deviceToken: string, failure: ApnsFailure, times?: number): void;
  close(): Promise<void>;
}

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI. */
export function createSelfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-apns-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A local APNs over HTTP/2 and TLS: it checks the ES256 provider token against the team's key,
 * the topic and the device path, and answers like APNs (200 with apns-id, or a JSON reason).
 */
export async function startFakeApns(account: { teamId: string; keyId: string; topic: string; publicKey: CryptoKey }): Promise<FakeApns> {
  const { key, cert } = createSelfSignedCertificate();
  const scripted = new Map<string, { failure: ApnsFailure; remaining: number }>();
  const pushes: ApnsPush[] = [];
  const server = http2.createSecureServer({ key, cert });
  const sessions = new Set<http2.ServerHttp2Session>();
  let connections = 0;
  server.on('session', (session) => {
    connections += 1;
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      void answer(headers, Buffer.concat(chunks).toString('utf8')).then(({ status, reason, apnsId }) => {
        if (stream.destroyed) return;
        stream.respond({ ':status': status, 'apns-id': apnsId, ...(reason ? { 'content-type': 'application/json' } : {}) });
        stream.end(reason ? JSON.stringify({ reason, ...(status === 410 ? { timestamp: Date.now() } : {}) }) : undefined);
      });
    });
  });

  async function answer(headers: http2.IncomingHttpHeaders, raw: string): Promise<{ status: number; reason?: string; apnsId: string }> {
    const apnsId = typeof headers['apns-id'] === 'string' ? headers['apns-id'] : randomUUID().toUpperCase();
    const deviceToken = /^\/3\/device\/([^/]+)$/.exec(String(headers[':path']))?.[1];
    if (headers[':method'] !== 'POST') return { status: 405, reason: 'MethodNotAllowed', apnsId };
    if (!deviceToken) return { status: 404, reason: 'BadPath', apnsId };
    const bearer = /^bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
    if (!bearer) return { status: 403, reason: 'MissingProviderToken', apnsId };
    try {
      const { protectedHeader } = await jwtVerify(bearer, account.publicKey, { algorithms: ['ES256'], issuer: account.teamId, requiredClaims: ['iat'] });
      if (protectedHeader.kid !== account.keyId) throw new Error('kid');
    } catch {
      return { status: 403, reason: 'InvalidProviderToken', apnsId };
    }
    if (headers['apns-topic'] !== account.topic) return { status: 400, reason: 'DeviceTokenNotForTopic', apnsId };
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return { status: 400, reason: 'PayloadEmpty', apnsId };
    }
    const script = scripted.get(deviceToken);
    const failure = script && script.remaining > 0 ? (script.remaining--, script.failure) : undefined;
    const status = failure ? statusOf[failure] : 200;
    const recorded = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
    pushes.push({ deviceToken, headers: recorded, payload, status });
    return failure ? { status, reason: failure, apnsId } : { status, apnsId };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    ca: cert,
    pushes,
    get connections() {
      return connections;
    },
    failToken(deviceToken, failure, times = Number.POSITIVE_INFINITY) {
      scripted.set(deviceToken, { failure, remaining: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}
