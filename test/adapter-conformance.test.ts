import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { adapters } from '../adapters/registry.js';
import { channelTypes, type ChannelContext, type ChannelType } from '../core/channels/contract.js';
import { identityKinds } from '../core/db/schema.js';
import { createChannelStore } from '../workflows/channel-store.js';
import { testRedisUrl } from './support/test-hub.js';

/** A valid config per channel type; a new adapter adds its line (the record is exhaustive). */
const validConfigs: Record<ChannelType, Record<string, unknown>> = {
  api: { callbackUrl: 'https://bank.example/hub-callback', secret: 'a-shared-secret-of-32-characters' },
  sms_twilio: {
    accountSid: 'AC0123456789abcdef0123456789abcdef',
    authToken: '0123456789abcdef0123456789abcdef',
    from: '+14155550100',
    publicBaseUrl: 'https://sms.bank.example:8443/hub',
    helpText: 'Card services: call 95588. Reply STOP to opt out.',
  },
  wechat: {
    appId: 'wx5823bf96d3bd56c7',
    appSecret: '0123456789abcdef0123456789abcdef',
    token: 'QDG6eK',
    encodingAESKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
    previousEncodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    apiBaseUrl: 'https://api.weixin.qq.com',
    templates: { 'card-blocked': { templateId: 'tmpl-1', variables: ['first', 'keyword1'] } },
  },
  app: {
    tokenAlgorithm: 'HS256',
    tokenSecret: 'an-app-token-secret-of-32-characters',
    fcmProjectId: 'bank-app',
    fcmClientEmail: 'push@bank-app.iam.gserviceaccount.com',
    fcmPrivateKey: '-----BEGIN PRIVATE KEY-----\nsample\n-----END PRIVATE KEY-----\n',
    apnsKey: '-----BEGIN PRIVATE KEY-----\nsample\n-----END PRIVATE KEY-----\n',
    apnsKeyId: 'ABC123DEFG',
    apnsTeamId: 'DEF123GHIJ',
    apnsTopic: 'com.bank.app',
  },
  webchat: { allowedOrigins: ['https://www.bank.example'], identitySecret: 'an-identity-secret-of-32-characters', requireIdentity: false },
  email: {
    address: 'care@bank.example',
    webhookSecret: 'a-shared-secret-of-32-characters',
    smtpHost: 'smtp.bank.example',
    smtpPassword: 'smtp-password',
    dkimDomain: 'bank.example',
    dkimSelector: 'hub',
    dkimPrivateKey: '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
    imapHost: 'imap.bank.example',
    imapUser: 'care@bank.example',
    imapPassword: 'imap-password',
  },
};

const context = (type: ChannelType): ChannelContext<unknown> => ({
  id: '00000000-0000-4000-8000-000000000001',
  name: `${type} conformance`,
  config: adapters[type].configSchema.parse(validConfigs[type]),
  publicBaseUrl: 'https://hub.example',
  allowPrivateNetwork: false,
  sendTimeoutMs: 1_000,
  store: createChannelStore(redis, `conformance-${process.pid}`, '00000000-0000-4000-8000-000000000001'),
});

const redis = new Redis(testRedisUrl, { lazyConnect: true });
afterAll(() => redis.disconnect());

describe.each(channelTypes.map((type) => [type]))('%s adapter conforms to the contract', (type) => {
  const adapter = adapters[type];

  it('is registered under its own type', () => {
    expect(adapter.type).toBe(type);
    expect(adapter.displayName).not.toBe('');
  });

  it('accepts its sample config and rejects an empty one with a message', () => {
    expect(adapter.configSchema.safeParse(validConfigs[type]).success).toBe(true);
    const empty = adapter.configSchema.safeParse({});
    expect(empty.success).toBe(false);
    expect(empty.error?.issues.length).toBeGreaterThan(0);
  });

  it('declares secret fields that exist in its config, and reachable identity kinds', () => {
    const keys = Object.keys(validConfigs[type]);
    for (const field of adapter.secretFields) expect(keys).toContain(field);
    expect(adapter.reachableKinds.length).toBeGreaterThan(0);
    for (const kind of adapter.reachableKinds) expect(identityKinds).toContain(kind);
  });

  it('rejects an unauthenticated request with a 4xx reply instead of throwing', async () => {
    const result = await adapter.verifyInbound(
      {
        method: 'POST',
        publicUrl: `https://hub.example/webhooks/${type}/00000000-0000-4000-8000-000000000001`,
        subpath: '',
        headers: { 'content-type': 'application/json' },
        query: {},
        rawBody: Buffer.from('{"forged":true}'),
      },
      context(type),
    );
    expect(result.ok).toBe(false);
    expect(result.reply.status).toBeGreaterThanOrEqual(400);
    expect(result.reply.status).toBeLessThan(500);
  });
});
