import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext } from '../../core/channels/contract.js';
import { testRedisUrl } from '../../test/support/test-hub.js';
import { createChannelStore } from '../../workflows/channel-store.js';
import { sendApns } from './apns-client.js';
import type { ApnsSettings } from './app-push.config.js';
import { startFakeApns, type FakeApns } from './fake-apns.js';

const redis = new Redis(testRedisUrl);
const account = { teamId: 'TEAM123456', keyId: 'KEY1234567', topic: 'com.bank.mobile' };
let apns: FakeApns;
let settings: ApnsSettings;

const channel = (id = 'apns-client-test'): ChannelContext<unknown> => ({
  id,
  name: 'Bank App',
  config: {},
  publicBaseUrl: undefined,
  allowPrivateNetwork: true,
  sendTimeoutMs: 2_000,
  store: createChannelStore(redis, `apns-${randomBytes(4).toString('hex')}`, id),
});
const notification = { messageId: '0d9a3c4e-1111-4222-8333-444455556666', title: 'Bank', body: 'New message', data: { messageId: 'm-1' } };

beforeAll(async () => {
  const key = await generateKeyPair('ES256', { extractable: true });
  apns = await startFakeApns({ ...account, publicKey: key.publicKey });
  settings = { ...account, key: await exportPKCS8(key.privateKey), host: apns.host, port: apns.port, ca: apns.ca };
});
afterAll(async () => {
  await apns?.close();
  redis.disconnect();
});

describe('APNs HTTP/2 client', () => {
  it('maps every APNs answer, and keeps one TLS connection open across notifications', async () => {
    apns.failToken('aa01', 'BadDeviceToken', 1);
    apns.failToken('aa02', 'Unregistered', 1);
    apns.failToken('aa03', 'TooManyRequests', 1);
    apns.failToken('aa04', 'ServiceUnavailable', 1);
    const context = channel('apns-reuse');
    const before = apns.connections;
    const outcomes = await Promise.all(['aa00', 'aa01', 'aa02', 'aa03', 'aa04'].map((token) => sendApns(settings, context, token, notification)));
    expect(outcomes).toEqual([
      { result: 'pushed', providerId: notification.messageId },
      { result: 'invalid-token', code: 'BadDeviceToken' },
      { result: 'invalid-token', code: 'Unregistered' },
      { result: 'retryable', code: 'TooManyRequests', message: 'APNs answered 429 TooManyRequests' },
      { result: 'retryable', code: 'ServiceUnavailable', message: 'APNs answered 503 ServiceUnavailable' },
    ]);
    expect(await sendApns(settings, context, 'aa03', notification)).toMatchObject({ result: 'pushed' });
    expect(apns.connections - before).toBe(1);
  });

  it('a signing key APNs does not know is a permanent InvalidProviderToken; an unusable key is refused before sending', async () => {
    const stranger = await generateKeyPair('ES256', { extractable: true });
    const foreign = await sendApns({ ...settings, key: await exportPKCS8(stranger.privateKey) }, channel(), 'aa00', notification);
    expect(foreign).toMatchObject({ result: 'permanent', code: 'InvalidProviderToken' });
    const garbage = await sendApns({ ...settings, key: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' }, channel(), 'aa00', notification);
    expect(garbage).toMatchObject({ result: 'permanent', code: 'apns_provider_token' });
  });

  it('verifies the server certificate: without the CA the self-signed fake is refused', async () => {
    const pushesBefore = apns.pushes.length;
    const outcome = await sendApns({ ...settings, ca: undefined }, channel(), 'aa00', notification);
    expect(outcome).toMatchObject({ result: 'retryable', code: 'apns_unreachable', message: expect.stringMatching(/self.signed|certificate/i) });
    expect(apns.pushes.length).toBe(pushesBefore);
  });

  it('refuses a private APNs address unless private networks are allowed', async () => {
    const outcome = await sendApns(settings, { ...channel(), allowPrivateNetwork: false }, 'aa00', notification);
    expect(outcome).toMatchObject({ result: 'permanent', code: 'apns_blocked', message: expect.stringMatching(/private address/) });
  });
});
