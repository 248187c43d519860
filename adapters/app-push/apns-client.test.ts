import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext } from '../../core/channels/contract.js';
import { testRedisUrl } from '../../test/support/test-hub.js';
import { createChannelStore } from '../../workflows/channel-store.js';
import { connectApns } from './apns-client.js';
import type { ApnsSettings } from './app-push.config.js';
import { startFakeApns, type FakeApns } from './fake-apns.js';

const redis = new Redis(testRedisUrl);
const account = { teamId: 'TEAM123456', keyId: 'KEY1234567', topic: 'com.bank.mobile' };
let apns: FakeApns;
let settings: ApnsSettings;

const channel = (): ChannelContext<unknown> => ({
  id: 'apns-client-test',
  name: 'Bank App',
  config: {},
  publicBaseUrl: undefined,
  allowPrivateNetwork: true,
  sendTimeoutMs: 2_000,
  store: createChannelStore(redis, `apns-${randomBytes(4).toString('hex')}`, 'apns-client-test'),
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
  it('pushes over one TLS connection and maps every APNs answer', async () => {
    apns.failToken('aa01', 'BadDeviceToken', 1);
    apns.failToken('aa02', 'Unregistered', 1);
    apns.failToken('aa03', 'TooManyRequests', 1);
    apns.failToken('aa04', 'ServiceUnavailable', 1);
    const connection = await connectApns(settings, channel());
    try {
      const outcomes = await Promise.all(['aa00', 'aa01', 'aa02', 'aa03', 'aa04'].map((token) => connection.push(token, notification)));
      expect(outcomes).toEqual([
        { result: 'pushed', providerId: notification.messageId },
        { result: 'invalid-token', code: 'BadDeviceToken' },
        { result: 'invalid-token', code: 'Unregistered' },
        { result: 'retryable', code: 'TooManyRequests', message: 'APNs answered 429 TooManyRequests' },
        { result: 'retryable', code: 'ServiceUnavailable', message: 'APNs answered 503 ServiceUnavailable' },
      ]);
    } finally {
      connection.close();
    }
  });

  it('a signing key APNs does not know is a permanent InvalidProviderToken', async () => {
    const stranger = await generateKeyPair('ES256', { extractable: true });
    const connection = await connectApns({ ...settings, key: await exportPKCS8(stranger.privateKey) }, channel());
    try {
      expect(await connection.push('aa00', notification)).toMatchObject({ result: 'permanent', code: 'InvalidProviderToken' });
    } finally {
      connection.close();
    }
  });

  it('verifies the server certificate: without the CA the self-signed fake is refused', async () => {
    await expect(connectApns({ ...settings, ca: undefined }, channel())).rejects.toThrow(/self.signed|certificate/i);
  });

  it('refuses a private APNs address unless private networks are allowed', async () => {
    await expect(connectApns(settings, { ...channel(), allowPrivateNetwork: false })).rejects.toThrow(/private address/);
  });
});
