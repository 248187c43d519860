import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { importPKCS8, SignJWT } from 'jose';
import type { ChannelContext } from '../../core/channels/contract.js';
import { guardedLookup, isPrivateAddress, OutboundHttpError } from '../../core/security/outbound-http.js';
import type { ApnsSettings } from './app-push.config.js';
import { retryAfterMs, type PushNotification, type PushOutcome } from './push-outcome.js';

const PROVIDER_TOKEN_KEY = 'apns:provider-token';
// APNs refuses provider tokens older than an hour and asks not to renew them more often than
// every twenty minutes.
const PROVIDER_TOKEN_LIFETIME_MS = 40 * 60_000;

/** The APNs signing key cannot be used: a configuration error that retrying will not fix. */
class ApnsKeyError extends Error {
  override name = 'ApnsKeyError';
}

/** The ES256 provider token (JWT) that authenticates every APNs request, shared through the channel store. */
export async function apnsProviderToken(settings: ApnsSettings, channel: ChannelContext<unknown>): Promise<string> {
  const cached = await channel.store.get(PROVIDER_TOKEN_KEY);
  if (cached) return cached;
  return channel.store.withLock(PROVIDER_TOKEN_KEY, { ttlMs: 5_000, waitMs: 5_000 }, async () => {
    const again = await channel.store.get(PROVIDER_TOKEN_KEY);
    if (again) return again;
    const key = await importPKCS8(settings.key, 'ES256').catch((error: Error) => {
      throw new ApnsKeyError(`apnsKey is not a usable ES256 key: ${error.message}`);
    });
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: settings.keyId }).setIssuer(settings.teamId).setIssuedAt().sign(key);
    await channel.store.set(PROVIDER_TOKEN_KEY, token, PROVIDER_TOKEN_LIFETIME_MS);
    return token;
  });
}

// APNs asks providers to keep their connections open across notifications and treats rapid
// connecting and disconnecting as an attack: each hub process keeps one HTTP/2 session per
// channel and endpoint, closed after a quiet spell.
const sessions = new Map<string, Promise<http2.ClientHttp2Session>>();
const SESSION_IDLE_MS = 10 * 60_000;

function sessionFor(settings: ApnsSettings, channel: ChannelContext<unknown>): Promise<http2.ClientHttp2Session> {
  const key = [channel.id, settings.host, settings.port, settings.ca ?? '', channel.allowPrivateNetwork].join('\n');
  const existing = sessions.get(key);
  if (existing) return existing;
  const opening: Promise<http2.ClientHttp2Session> = connect(settings, channel).then((session) => {
    const forget = () => {
      if (sessions.get(key) === opening) sessions.delete(key);
    };
    session.on('close', forget);
    session.on('goaway', forget);
    // An error after connecting fails the open requests, which report it themselves.
    session.on('error', forget);
    session.setTimeout(SESSION_IDLE_MS, () => session.close());
    // An idle session must not keep a stopping process alive.
    session.unref();
    return session;
  });
  sessions.set(key, opening);
  opening.catch(() => {
    if (sessions.get(key) === opening) sessions.delete(key);
  });
  return opening;
}

function connect(settings: ApnsSettings, channel: ChannelContext<unknown>): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://${settings.host}:${settings.port}`, {
    ...(settings.ca ? { ca: [...tls.rootCertificates, settings.ca] } : {}),
    lookup: guardedLookup(channel.allowPrivateNetwork),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no connection to ${settings.host}:${settings.port} within ${channel.sendTimeoutMs} ms`));
    }, channel.sendTimeoutMs);
    session.once('connect', () => {
      clearTimeout(timer);
      resolve(session);
    });
    session.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Sends one notification to one device through APNs. */
export async function sendApns(
  settings: ApnsSettings,
  channel: ChannelContext<unknown>,
  deviceToken: string,
  notification: PushNotification,
): Promise<PushOutcome> {
  if (!channel.allowPrivateNetwork && net.isIP(settings.host) && isPrivateAddress(settings.host)) {
    return { result: 'permanent', code: 'apns_blocked', message: `${settings.host} is a private address` };
  }
  let providerToken: string;
  try {
    providerToken = await apnsProviderToken(settings, channel);
  } catch (error) {
    const code = 'apns_provider_token';
    return error instanceof ApnsKeyError ? { result: 'permanent', code, message: error.message } : { result: 'retryable', code, message: (error as Error).message };
  }
  let session: http2.ClientHttp2Session;
  try {
    session = await sessionFor(settings, channel);
  } catch (error) {
    if (error instanceof OutboundHttpError && error.kind === 'blocked') return { result: 'permanent', code: 'apns_blocked', message: error.message };
    return { result: 'retryable', code: 'apns_unreachable', message: (error as Error).message };
  }
  return pushOne(session, settings, channel, providerToken, deviceToken, notification);
}

function pushOne(
  session: http2.ClientHttp2Session,
  settings: ApnsSettings,
  channel: ChannelContext<unknown>,
  providerToken: string,
  deviceToken: string,
  notification: PushNotification,
): Promise<PushOutcome> {
  const payload = JSON.stringify({
    aps: {
      alert: { title: notification.title, body: notification.body },
      sound: 'default',
      ...(notification.data.conversationId ? { 'thread-id': notification.data.conversationId } : {}),
    },
    ...notification.data,
  });
  return new Promise((resolve) => {
    let request: http2.ClientHttp2Stream;
    try {
      request = session.request({
        ':method': 'POST',
        ':path': `/3/device/${encodeURIComponent(deviceToken)}`,
        authorization: `bearer ${providerToken}`,
        'apns-id': notification.messageId,
        'apns-topic': settings.topic,
        'apns-push-type': 'alert',
        'apns-priority': '10',
        // Worth showing for a day; after that the customer sees it in the app's history anyway.
        'apns-expiration': String(Math.floor(Date.now() / 1000) + 86_400),
        'content-type': 'application/json',
      });
    } catch (error) {
      resolve({ result: 'retryable', code: 'apns_unreachable', message: (error as Error).message });
      return;
    }
    let headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
    const chunks: Buffer[] = [];
    request.setTimeout(channel.sendTimeoutMs, () => request.close(http2.constants.NGHTTP2_CANCEL));
    request.on('response', (h) => (headers = h));
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', (error) => resolve({ result: 'retryable', code: 'apns_unreachable', message: error.message }));
    request.on('close', () => {
      const status = headers[':status'];
      if (!status) {
        resolve({ result: 'retryable', code: 'apns_no_answer', message: `no answer from APNs within ${channel.sendTimeoutMs} ms` });
        return;
      }
      toOutcome(status, headers, Buffer.concat(chunks).toString('utf8'), channel).then(resolve, (error: Error) =>
        resolve({ result: 'retryable', code: 'apns_provider_token', message: error.message }),
      );
    });
    request.end(payload);
  });
}

async function toOutcome(
  status: number,
  headers: http2.IncomingHttpHeaders,
  text: string,
  channel: ChannelContext<unknown>,
): Promise<PushOutcome> {
  if (status === 200) {
    const apnsId = headers['apns-id'];
    return { result: 'pushed', providerId: typeof apnsId === 'string' ? apnsId : undefined };
  }
  let reason = `HTTP_${status}`;
  try {
    reason = (JSON.parse(text) as { reason?: string }).reason ?? reason;
  } catch {
    // an answer without a JSON body keeps the status as its code
  }
  const message = `APNs answered ${status} ${reason}`;
  if (status === 410 || reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic' || reason === 'Unregistered') {
    return { result: 'invalid-token', code: reason };
  }
  if (reason === 'ExpiredProviderToken' || reason === 'InvalidProviderToken') {
    await channel.store.delete(PROVIDER_TOKEN_KEY);
    // An expired token is renewed on the next attempt; an invalid one means a wrong key or team id.
    return reason === 'ExpiredProviderToken' ? { result: 'retryable', code: reason, message } : { result: 'permanent', code: reason, message };
  }
  if (status === 429 || status >= 500) {
    const after = retryAfterMs(headers['retry-after']);
    return { result: 'retryable', code: reason, message, ...(after ? { retryAfterMs: after } : {}) };
  }
  return { result: 'permanent', code: reason, message };
}
