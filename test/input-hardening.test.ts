import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSignature } from '../adapters/wechat/wechat-crypto.js';
import { buildWechatXml } from '../adapters/wechat/wechat-xml.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/** The input problems a probe found (issue #12), each answered 4xx over HTTP, and nothing valid lost. */
let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let api: { id: string; secret: string };
let conversationId: string;
let contactId: string;
const appSecret = randomBytes(32).toString('hex');
let appChannel: string;
let webchatChannel: string;
let wechatChannel: string;
const wechatToken = 'hardeningToken';

const count = async (query: ReturnType<typeof sql>) => (await hub.runtime.database.query<{ n: number }>(query))[0]!.n;

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer();
  api = await hub.createApiChannel(callback.url);
  const first = await hub.postSigned(api.id, api.secret, { messageId: 'h-1', from: { kind: 'phone', value: '13800138001' }, text: '你好' });
  expect(first.status).toBe(200);
  const conversation = await waitFor(async () => (await hub.api('GET', '/api/v1/conversations?view=all')).body.items[0]);
  conversationId = conversation.id;
  contactId = conversation.contact.id;
  const make = async (type: string, config: Record<string, unknown>) => {
    const { status, body } = await hub.api('POST', '/api/v1/channels', { type, name: type, config });
    expect(status).toBe(201);
    return body.id as string;
  };
  appChannel = await make('app', { tokenAlgorithm: 'HS256', tokenSecret: appSecret });
  webchatChannel = await make('webchat', { allowedOrigins: ['*'] });
  wechatChannel = await make('wechat', { appId: 'wx0123456789abcdef', appSecret: randomBytes(16).toString('hex'), token: wechatToken, apiBaseUrl: 'http://127.0.0.1:1' });
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

describe('control characters', () => {
  it.each([
    ['an agent reply', 'POST', () => `/api/v1/conversations/${conversationId}/messages`, { text: 'card a\u0000b' }, 'body.text'],
    ['a contact change', 'PATCH', () => `/api/v1/contacts/${contactId}`, { name: 'Wang\u0007' }, 'body.name'],
    ['a knowledge-base article', 'POST', () => '/api/v1/kb/articles', { title: 'x\u0000', questions: ['q'], answer: 'a' }, 'body.title'],
    ['a team', 'POST', () => '/api/v1/teams', { name: 'Cards\u001b' }, 'body.name'],
    ['a tag filter', 'GET', () => '/api/v1/kb/articles?tag=%00', undefined, 'query.tag'],
    ['a key', 'PATCH', () => `/api/v1/contacts/${contactId}`, { attributes: { 'a\u0000': 1 } }, 'body.attributes'],
    ['an unpaired surrogate', 'PATCH', () => `/api/v1/contacts/${contactId}`, { attributes: { note: 'x\ud800' } }, 'body.attributes.note'],
  ])('in %s are a 400 naming the field', async (_what, method, path, body, field) => {
    const response = await hub.api(method, path(), body);
    expect(response.status).toBe(400);
    expect(response.body.error).toContain(field);
    expect(response.body.error).toMatch(/control character|surrogate/);
  });

  it('tab, line feed and carriage return are ordinary text', async () => {
    const response = await hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text: 'line one\r\n\tline two' });
    expect(response.status).toBe(202);
    expect(response.body.text).toBe('line one\r\n\tline two');
  });

  it('on the signed API webhook are a 400 (no retry), nothing is stored, and the corrected message goes through', async () => {
    const before = await count(sql`select count(*)::int as n from inbound_events`);
    const bad = await hub.postSigned(api.id, api.secret, { messageId: 'h-nul', from: { kind: 'phone', value: '13800138001' }, text: 'a\u0000b' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('body.text');
    expect(await count(sql`select count(*)::int as n from inbound_events`)).toBe(before);

    const fixed = await hub.postSigned(api.id, api.secret, { messageId: 'h-nul', from: { kind: 'phone', value: '13800138001' }, text: 'a b' });
    expect(fixed.status).toBe(200);
    await waitFor(async () => (await count(sql`select count(*)::int as n from messages where provider_message_id = 'h-nul' and text = 'a b'`)) === 1);
  });

  it('from a provider that cannot resend (WeChat) are dropped and the message kept', async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const query = new URLSearchParams({ signature: computeSignature([wechatToken, timestamp, '42']), timestamp, nonce: '42', openid: 'oWxHardening1' });
    const response = await fetch(`${hub.baseUrl}/webhooks/wechat/${wechatChannel}?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: buildWechatXml({ ToUserName: 'gh_1', FromUserName: 'oWxHardening1', CreateTime: timestamp, MsgType: 'text', Content: '余额\u0000查询', MsgId: '7300000000000000123' }),
    });
    expect(response.status).toBe(200);
    await waitFor(async () => (await count(sql`select count(*)::int as n from messages where text = '余额查询'`)) === 1);
  });

  it('in the app API and the widget are a 400', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('app-user-9').setExpirationTime('5m').sign(new TextEncoder().encode(appSecret));
    const app = await fetch(`${hub.baseUrl}/api/app/v1/channels/${appChannel}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clientMessageId: 'app-nul-1', text: 'a\u0000b' }),
    });
    expect(app.status).toBe(400);
    expect((await app.json()).error).toContain('body.text');

    const widget = await fetch(`${hub.baseUrl}/widget/v1/channels/${webchatChannel}/frames`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://www.bank.test' },
      body: JSON.stringify({ hello: {}, frame: { type: 'message', id: 'nul-frame-1', text: 'a\u0000b' } }),
    });
    expect(widget.status).toBe(400);
    expect((await widget.json()).error).toContain('frame.text');
  });
});

describe('paging cursors', () => {
  const forged = [
    Buffer.from(JSON.stringify(['x', "' OR 1=1--"])).toString('base64'),
    Buffer.from(JSON.stringify(['2025-02-30T00:00:00.000Z', '00000000-0000-0000-0000-000000000000'])).toString('base64url'),
    Buffer.from(JSON.stringify(['2025-01-01T00:00:00.000Z', 'a'.repeat(36)])).toString('base64url'),
    Buffer.from(JSON.stringify([1e300])).toString('base64url'),
    Buffer.from(JSON.stringify([9, '2025-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000'])).toString('base64url'),
    'not base64 at all!',
  ];
  it.each([
    ['contacts', () => '/api/v1/contacts'],
    ['conversations', () => '/api/v1/conversations?view=all'],
    ['the queue', () => '/api/v1/conversations?view=queue'],
    ['messages', () => `/api/v1/conversations/${conversationId}/messages`],
    ['merges', () => '/api/v1/contact-merges'],
    ['a timeline', () => `/api/v1/contacts/${contactId}/timeline`],
  ])('a forged cursor for %s is a 400', async (_what, path) => {
    for (const cursor of forged) {
      const url = path();
      const response = await hub.api('GET', `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`);
      expect(response.status, cursor).toBe(400);
      expect(response.body.error).toMatch(/invalid cursor|cursor/);
    }
  });

  it('a real cursor still pages', async () => {
    await hub.postSigned(api.id, api.secret, { messageId: 'h-page', from: { kind: 'phone', value: '13800138002' }, text: 'second' });
    await waitFor(async () => (await hub.api('GET', '/api/v1/contacts')).body.items.length >= 2);
    const first = await hub.api('GET', '/api/v1/contacts?limit=1');
    expect(first.body.nextCursor).toBeTruthy();
    const second = await hub.api('GET', `/api/v1/contacts?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
  });
});

describe('nesting and encoding', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };

  it('contact attributes nest at most 8 levels; 10,000 levels are refused before parsing anything else', async () => {
    expect((await hub.api('PATCH', `/api/v1/contacts/${contactId}`, { attributes: { crm: nested(7) } })).status).toBe(200);
    const nine = await hub.api('PATCH', `/api/v1/contacts/${contactId}`, { attributes: { crm: nested(8) } });
    expect(nine.status).toBe(400);
    expect(nine.body.error).toMatch(/attributes may nest at most 8 levels/);
    const deep = `{"attributes":{"crm":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`;
    const response = await fetch(`${hub.baseUrl}/api/v1/contacts/${contactId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
      body: deep,
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/nests deeper than 16 levels/);
  });

  it('a widget upload whose file name does not percent-decode is a 400', async () => {
    const response = await fetch(`${hub.baseUrl}/widget/v1/channels/${webchatChannel}/attachments`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', origin: 'https://www.bank.test', 'x-hub-hello': encodeURIComponent('{}'), 'x-file-name': '%E0%A4%A' },
      body: new Uint8Array(randomBytes(64)),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/x-file-name/);
  });

  it('a path that does not percent-decode is a 400', async () => {
    for (const path of [
      '/api/v1/contacts/%E0%A4%A',
      '/api/v1/identity-merge-rules/%E0%A4%A',
      '/webhooks/api/%E0%A4%A',
      '/email/unsubscribe/%E0%A4%A/x',
      '/widget/v1/channels/%E0%A4%A/frames',
      '/api/app/v1/channels/%E0%A4%A/messages',
    ]) {
      const response = await hub.api(path.startsWith('/api/v1/identity') ? 'PATCH' : 'GET', path, path.includes('identity') ? {} : undefined);
      expect(response.status, path).toBe(400);
      expect(response.body.error, path).toMatch(/decode/);
    }
  });
});
