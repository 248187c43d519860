import { importPKCS8, SignJWT } from 'jose';
import type { ChannelContext } from '../../core/channels/contract.js';
import { OutboundHttpError, sendOutboundHttp, type OutboundResponse } from '../../core/security/outbound-http.js';
import type { FcmSettings } from './app-push.config.js';
import { retryAfterMs, type PushNotification, type PushOutcome } from './push-outcome.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const ACCESS_TOKEN_KEY = 'fcm:access-token';

/**
 * An OAuth2 access token for the service account (RFC 7523 JWT-bearer grant), shared by every
 * hub process through the channel store: Google throttles token requests, and one token serves
 * an hour of sends. The lock keeps a cold start of many workers down to one exchange.
 */
export async function fcmAccessToken(settings: FcmSettings, channel: ChannelContext<unknown>): Promise<string> {
  const cached = await channel.store.get(ACCESS_TOKEN_KEY);
  if (cached) return cached;
  return channel.store.withLock(ACCESS_TOKEN_KEY, { ttlMs: channel.sendTimeoutMs * 2, waitMs: channel.sendTimeoutMs * 2 }, async () => {
    const again = await channel.store.get(ACCESS_TOKEN_KEY);
    if (again) return again;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(settings.clientEmail)
      .setSubject(settings.clientEmail)
      .setAudience(settings.tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await importPKCS8(settings.privateKey, 'RS256'));
    const response = await sendOutboundHttp({
      url: settings.tokenUri,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      timeoutMs: channel.sendTimeoutMs,
      allowPrivate: channel.allowPrivateNetwork,
      maxResponseBytes: 64 * 1024,
    });
    const body = parseJson(response) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (response.status !== 200 || typeof body.access_token !== 'string') {
      throw new FcmAuthError(
        `the token endpoint answered ${response.status}: ${body.error_description ?? body.error ?? 'no access token'}`,
        response.status === 429 || response.status >= 500,
      );
    }
    // Renew a minute early so a token never expires between reading it and using it.
    const lifetimeMs = Math.max(60, (body.expires_in ?? 3600) - 60) * 1000;
    await channel.store.set(ACCESS_TOKEN_KEY, body.access_token, lifetimeMs);
    return body.access_token;
  });
}

export class FcmAuthError extends Error {
  override name = 'FcmAuthError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface FcmErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{ '@type'?: string; errorCode?: string; fieldViolations?: Array<{ field?: string }> }>;
  };
}

/** Sends one notification through the FCM HTTP v1 API. */
export async function sendFcm(
  settings: FcmSettings,
  channel: ChannelContext<unknown>,
  token: string,
  notification: PushNotification,
): Promise<PushOutcome> {
  let accessToken: string;
  try {
    accessToken = await fcmAccessToken(settings, channel);
  } catch (error) {
    const permanent = (error instanceof FcmAuthError && !error.retryable) || (error instanceof OutboundHttpError && error.kind === 'blocked');
    if (permanent) return { result: 'permanent', code: 'fcm_auth', message: (error as Error).message };
    return { result: 'retryable', code: 'fcm_auth', message: (error as Error).message };
  }
  const message = {
    message: {
      token,
      notification: { title: notification.title, body: notification.body },
      data: notification.data,
      android: { priority: 'high' },
    },
  };
  let response: OutboundResponse;
  try {
    response = await sendOutboundHttp({
      url: `${settings.baseUrl}/v1/projects/${encodeURIComponent(settings.projectId)}/messages:send`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify(message),
      timeoutMs: channel.sendTimeoutMs,
      allowPrivate: channel.allowPrivateNetwork,
      maxResponseBytes: 64 * 1024,
    });
  } catch (error) {
    if (error instanceof OutboundHttpError && error.kind === 'blocked') return { result: 'permanent', code: 'fcm_blocked', message: error.message };
    // Even if the request may have arrived, repeating it is safe: a second notification only
    // leads the app to the same message in its history, never to a second message.
    return { result: 'retryable', code: 'fcm_unreachable', message: (error as Error).message };
  }
  if (response.status === 200) {
    const body = parseJson(response) as { name?: string };
    return { result: 'pushed', providerId: body.name };
  }
  const error = (parseJson(response) as FcmErrorBody).error ?? {};
  const fcmCode = error.details?.find((d) => d.errorCode)?.errorCode ?? error.status ?? `HTTP_${response.status}`;
  const detail = error.message ?? `FCM answered ${response.status}`;
  const aboutToken = error.details?.some((d) => d.fieldViolations?.some((v) => v.field === 'message.token')) || /registration token/i.test(detail);
  if (fcmCode === 'UNREGISTERED' || (fcmCode === 'INVALID_ARGUMENT' && aboutToken)) return { result: 'invalid-token', code: fcmCode };
  if (response.status === 401) {
    // Revoked or expired early: the next attempt exchanges a fresh token.
    await channel.store.delete(ACCESS_TOKEN_KEY);
    return { result: 'retryable', code: fcmCode, message: detail };
  }
  if (response.status === 429 || response.status >= 500) {
    const after = retryAfterMs(response.headers['retry-after']);
    return { result: 'retryable', code: fcmCode, message: detail, ...(after ? { retryAfterMs: after } : {}) };
  }
  return { result: 'permanent', code: fcmCode, message: detail };
}

function parseJson(response: OutboundResponse): unknown {
  try {
    return JSON.parse(response.body.toString('utf8')) as unknown;
  } catch {
    return {};
  }
}
