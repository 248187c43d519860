import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { importPKCS8, SignJWT } from 'jose';
import type { ChannelContext } from '../../core/channels/contract.js';
import { guardedLookup, isPrivateAddress } from '../../core/security/outbound-http.js';
import type { ApnsSettings } from './app-push.config.js';
import { retryAfterMs, type PushNotification, type PushOutcome } from './push-outcome.js';

const PROVIDER_TOKEN_KEY = 'apns:provider-token';
// APNs refuses provider tokens older than an hour and asks not to renew them more often than
// every twenty minutes.
const PROVIDER_TOKEN_LIFETIME_MS = 40 * 60_000;

/** The ES256 provider token (JWT) that authenticates every APNs request, shared through the channel store. */
export async function apnsProviderToken(settings: ApnsSettings, channel: ChannelContext<unknown>): Promise<string> {
  const cached = await channel.store.get(PROVIDER_TOKEN_KEY);
  if (cached) return cached;
  return channel.store.withLock(PROVIDER_TOKEN_KEY, { ttlMs: 5_000, waitMs: 5_000 }, async () => {
    const again = await channel.store.get(PROVIDER_TOKEN_KEY);
    if (again) return again;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: settings.keyId })
      .setIssuer(settings.teamId)
      .setIssuedAt()
      .sign(await importPKCS8(settings.key, 'ES256'));
    await channel.store.set(PROVIDER_TOKEN_KEY, token, PROVIDER_TOKEN_LIFETIME_MS);
    return token;
  });
}

export interface ApnsConnection {
  push(deviceToken: string, notification: PushNotification): Promise<PushOutcome>;
  close(): void;
}

/**
 * Opens one HTTP/2 connection to APNs for the notifications of one message; the requests of all
 * the recipient's devices are multiplexed on it.
 */
export async function connectApns(settings: ApnsSettings, channel: ChannelContext<unknown>): Promise<ApnsConnection> {
  if (!channel.allowPrivateNetwork && net.isIP(settings.host) && isPrivateAddress(settings.host)) {
    throw new Error(`${settings.host} is a private address`);
  }
  const providerToken = await apnsProviderToken(settings, channel);
  const session = http2.connect(`https://${settings.host}:${settings.port}`, {
    ...(settings.ca ? { ca: [...tls.rootCertificates, settings.ca] } : {}),
    lookup: guardedLookup(channel.allowPrivateNetwork),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no connection to ${settings.host}:${settings.port} within ${channel.sendTimeoutMs} ms`));
    }, channel.sendTimeoutMs);
    session.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    session.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  // A connection error after connecting fails the open requests, which report it themselves.
  session.on('error', () => {});

  return {
    push: (deviceToken, notification) => pushOne(session, settings, channel, providerToken, deviceToken, notification),
    close: () => session.close(),
  };
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
