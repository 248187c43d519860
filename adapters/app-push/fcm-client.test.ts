import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext } from '../../core/channels/contract.js';
import { testRedisUrl } from '../../test/support/test-hub.js';
import { createChannelStore } from '../../workflows/channel-store.js';
import type { FcmSettings } from './app-push.config.js';
import { startFakeFcm, type FakeFcm } from './fake-fcm.js';
import { sendFcm } from './fcm-client.js';

const redis = new Redis(testRedisUrl);
const account = { projectId: 'bank-app', clientEmail: 'push@bank-app.iam.gserviceaccount.com' };
let fcm: FakeFcm;
let settings: FcmSettings;

const channel = (): ChannelContext<unknown> => ({
  id: 'fcm-client-test',
  name: 'Bank App',
  config: {},
  publicBaseUrl: undefined,
  allowPrivateNetwork: true,
  sendTimeoutMs: 2_000,
  store: createChannelStore(redis, `fcm-${randomBytes(4).toString('hex')}`, 'fcm-client-test'),
});
const notification = { messageId: 'm-1', title: 'Bank', body: 'You have a new message', data: { messageId: 'm-1' } };

beforeAll(async () => {
  const serviceAccount = await generateKeyPair('RS256', { extractable: true });
  fcm = await startFakeFcm({ ...account, publicKey: serviceAccount.publicKey });
  settings = { ...account, privateKey: await exportPKCS8(serviceAccount.privateKey), tokenUri: fcm.tokenUri, baseUrl: fcm.baseUrl };
});
afterAll(async () => {
  await fcm?.close();
  redis.disconnect();
});

describe('FCM HTTP v1 client', () => {
  it('exchanges the service-account JWT once and sends with the access token', async () => {
    const context = channel();
    const before = fcm.tokenExchanges;
    const first = await sendFcm(settings, context, 'token-a', notification);
    const second = await sendFcm(settings, context, 'token-b', notification);
    expect(first).toMatchObject({ result: 'pushed', providerId: expect.stringMatching(/^projects\/bank-app\/messages\//) });
    expect(second.result).toBe('pushed');
    expect(fcm.tokenExchanges - before).toBe(1);
  });

  it('a revoked access token (401) is dropped, and the retry exchanges a new one', async () => {
    const context = channel();
    await sendFcm(settings, context, 'token-c', notification);
    fcm.revokeAccessTokens();
    const before = fcm.tokenExchanges;
    expect(await sendFcm(settings, context, 'token-c', notification)).toMatchObject({ result: 'retryable', code: 'UNAUTHENTICATED' });
    expect(await sendFcm(settings, context, 'token-c', notification)).toMatchObject({ result: 'pushed' });
    expect(fcm.tokenExchanges - before).toBe(1);
  });

  it('maps FCM errors: token errors invalidate, quota and outages retry with Retry-After', async () => {
    const context = channel();
    fcm.failToken('token-invalid', 'INVALID_ARGUMENT', 1);
    fcm.failToken('token-quota', 'QUOTA_EXCEEDED', 1);
    fcm.failToken('token-down', 'UNAVAILABLE', 1);
    expect(await sendFcm(settings, context, 'token-invalid', notification)).toEqual({ result: 'invalid-token', code: 'INVALID_ARGUMENT' });
    expect(await sendFcm(settings, context, 'token-quota', notification)).toMatchObject({ result: 'retryable', code: 'QUOTA_EXCEEDED', retryAfterMs: 1000 });
    expect(await sendFcm(settings, context, 'token-down', notification)).toMatchObject({ result: 'retryable', code: 'UNAVAILABLE' });
  });

  it('a service-account key the token endpoint does not accept is a permanent error', async () => {
    const stranger = await generateKeyPair('RS256', { extractable: true });
    const outcome = await sendFcm({ ...settings, privateKey: await exportPKCS8(stranger.privateKey) }, channel(), 'token-a', notification);
    expect(outcome).toMatchObject({ result: 'permanent', code: 'fcm_auth', message: expect.stringMatching(/400.*Invalid JWT Signature/) });
  });

  it('refuses a private FCM address unless private networks are allowed', async () => {
    const outcome = await sendFcm(settings, { ...channel(), allowPrivateNetwork: false }, 'token-a', notification);
    expect(outcome).toMatchObject({ result: 'permanent', code: 'fcm_auth', message: expect.stringMatching(/private address/) });
  });
});
