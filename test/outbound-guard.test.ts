import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel } from '../core/channels/channel-service.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * Every host a channel config names goes through one guard: with private targets not allowed (as
 * in production), private, loopback and link-local addresses are refused when the config is
 * saved, when it is tested and when the hub connects, and nothing connects to find out.
 */
let hub: TestHub;
let listener: net.Server;
let openPort: number;
let connections = 0;
const webhookSecret = randomBytes(16).toString('hex');

beforeAll(async () => {
  hub = await startTestHub({ overrides: { OUTBOUND_ALLOW_PRIVATE: 'false' } });
  // A service listening on loopback, like the Redis or PostgreSQL a port scan would look for.
  listener = net.createServer((socket) => {
    connections++;
    socket.end('220 listening\r\n');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  openPort = (listener.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  await hub?.close();
});

const emailConfig = (extra: Record<string, unknown>) => ({ address: `care-${randomBytes(3).toString('hex')}@bank.test`, webhookSecret, ...extra });

/** Stores a channel as a hub allowed to reach private addresses would have (a config from before, or DNS that changed since). */
async function storePrivateChannel(config: Record<string, unknown>) {
  const channel = await createChannel(
    { db: hub.runtime.database.db, secretBox: hub.runtime.secretBox, adapters: hub.runtime.adapters, allowPrivateNetwork: true },
    null,
    { type: 'email', name: 'Legacy mail', config: emailConfig(config) },
  );
  return channel.id;
}

describe('the outbound guard', () => {
  it.each(['127.0.0.1', 'localhost', '::1', '[::1]', '10.1.2.3', '169.254.169.254', '0.0.0.0', '::ffff:127.0.0.1'])(
    'refuses smtpHost %s when a channel is created, naming the field',
    async (smtpHost) => {
      const response = await hub.api('POST', '/api/v1/channels', { type: 'email', name: 'Mail', config: emailConfig({ smtpHost, smtpPort: openPort }) });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('private_address');
      expect(response.body.error).toMatch(/smtpHost: .*private address.*OUTBOUND_ALLOW_PRIVATE/);
    },
  );

  it('refuses imapHost, API callbacks and provider base URLs the same way, and an update to one', async () => {
    const imap = await hub.api('POST', '/api/v1/channels', {
      type: 'email',
      name: 'Mail',
      config: emailConfig({ imapHost: 'localhost', imapUser: 'u', imapPassword: 'p' }),
    });
    expect(imap.status).toBe(400);
    expect(imap.body.error).toMatch(/imapHost: localhost resolves to a private address/);

    const callback = await hub.api('POST', '/api/v1/channels', { type: 'api', name: 'Core', config: { callbackUrl: 'http://192.168.1.10/hook', secret: randomBytes(16).toString('hex') } });
    expect(callback.status).toBe(400);
    expect(callback.body.error).toMatch(/callbackUrl: 192\.168\.1\.10 is a private address/);

    const wechat = await hub.api('POST', '/api/v1/channels', {
      type: 'wechat',
      name: 'WeChat',
      config: { appId: 'wx0123456789abcdef', appSecret: randomBytes(16).toString('hex'), token: 'tok123', apiBaseUrl: 'http://[fd00::1]:8080' },
    });
    expect(wechat.status).toBe(400);
    expect(wechat.body.error).toMatch(/apiBaseUrl: fd00::1 is a private address/);

    // A mail channel with no relay yet, then pointed at loopback.
    const created = await hub.api('POST', '/api/v1/channels', { type: 'email', name: 'Receive only', config: emailConfig({}) });
    expect(created.status).toBe(201);
    const patched = await hub.api('PATCH', `/api/v1/channels/${created.body.id}`, { config: { smtpHost: '127.0.0.1', smtpPort: openPort } });
    expect(patched.status).toBe(400);
    expect(patched.body.code).toBe('private_address');
    const stored = await hub.api('GET', `/api/v1/channels/${created.body.id}`);
    expect(stored.body.config.smtpHost).toBeUndefined();
  });

  it('answers the test button the same for an open and a closed private port, without connecting to either', async () => {
    const open = await storePrivateChannel({ smtpHost: '127.0.0.1', smtpPort: openPort });
    const closed = await storePrivateChannel({ smtpHost: '127.0.0.1', smtpPort: 1 });
    const before = connections;
    const answers = [];
    for (const id of [open, closed]) {
      const response = await hub.api('POST', `/api/v1/channels/${id}/test`);
      answers.push({ status: response.status, body: response.body });
    }
    expect(answers[0]!.status).toBe(400);
    expect(answers[0]!.body.code).toBe('private_address');
    expect(answers[1]).toEqual(answers[0]);
    expect(connections).toBe(before);
  });

  it('fails a reply on a relay that became private for good, without connecting', async () => {
    const channelId = await storePrivateChannel({ smtpHost: 'localhost', smtpPort: openPort });
    const mail = [
      'From: Wang <wang@customer.test>',
      'To: care@bank.test',
      'Subject: card',
      `Message-ID: <${randomBytes(6).toString('hex')}@customer.test>`,
      '',
      'My card is blocked.',
      '',
    ].join('\r\n');
    const posted = await fetch(`${hub.baseUrl}/webhooks/email/${channelId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${webhookSecret}`, 'content-type': 'message/rfc822' },
      body: mail,
    });
    expect(posted.status).toBe(202);
    const conversation = await waitFor(async () => (await hub.api('GET', `/api/v1/conversations?view=all&channelId=${channelId}`)).body.items[0]);
    const before = connections;
    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'We will unblock it.' });
    expect(reply.status).toBe(202);
    const failed = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ status: string; error_code: string | null }>(
        sql`select status, error_code from messages where id = ${reply.body.id}`,
      );
      return row?.status === 'failed' ? row : undefined;
    });
    expect(failed.error_code).toBe('private_address');
    expect(connections).toBe(before);
  });
});
