import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hmacSha256Hex } from '../core/security/signatures.js';
import { createAgent, openAgentFeed } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

const origin = 'https://www.bank.example';
const identitySecret = randomBytes(24).toString('hex');
let hub: TestHub;
let channelId: string;

async function createWebchatChannel(config: Record<string, unknown>) {
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'webchat',
    name: 'Website',
    config: { allowedOrigins: [origin], identitySecret, ...config },
  });
  expect(status).toBe(201);
  return body.id as string;
}

beforeAll(async () => {
  // A short ping interval, so that the heartbeat test sees a silent socket dropped quickly.
  hub = await startTestHub({ overrides: { SOCKET_PING_INTERVAL_MS: '300' } });
  channelId = await createWebchatChannel({});
});
afterAll(async () => {
  await hub?.close();
});

/** A widget's socket as the hub sees it: frames received so far, and how it closed. */
async function openSocket(options: { channel?: string; origin?: string; autoPong?: boolean } = {}) {
  const url = `${hub.baseUrl.replace('http', 'ws')}/widget/socket?channel=${options.channel ?? channelId}`;
  const socket = new WebSocket(url, { headers: { origin: options.origin ?? origin }, autoPong: options.autoPong ?? true });
  const frames: any[] = [];
  let closed: { code: number; reason: string } | undefined;
  socket.on('message', (raw) => frames.push(JSON.parse(raw.toString())));
  socket.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    frames,
    send: (frame: object) => socket.send(JSON.stringify(frame)),
    sendRaw: (data: string) => socket.send(data),
    next: (type: string, match: (f: any) => boolean = () => true) =>
      waitFor(async () => frames.find((f) => f.type === type && match(f)), 10_000, `a ${type} frame`),
    closed: () => waitFor(async () => closed, 10_000, 'the socket to close'),
    close: () => socket.close(),
  };
}

async function hello(frame: object = {}, options: Parameters<typeof openSocket>[0] = {}) {
  const socket = await openSocket(options);
  socket.send({ type: 'hello', ...frame });
  return socket;
}

async function count(table: string): Promise<number> {
  const [row] = await hub.runtime.database.query<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return row!.n;
}

async function identityOf(kind: string, value?: string) {
  const rows = await hub.runtime.database.query<{ contact_id: string; value: string; verified: boolean }>(
    value === undefined
      ? sql`select contact_id, value, verified from contact_identities where kind = ${kind}`
      : sql`select contact_id, value, verified from contact_identities where kind = ${kind} and value = ${value}`,
  );
  return rows;
}

async function conversationOf(contactId: string) {
  const list = await hub.api('GET', `/api/v1/conversations?contactId=${contactId}`);
  return list.body.items[0] as { id: string } | undefined;
}

const messageId = () => randomBytes(8).toString('hex');

describe('web chat over the widget socket', () => {
  it('an anonymous visitor chats, gets an agent reply live, and finds the history on return', async () => {
    const visitor = await hello();
    const welcome = await visitor.next('welcome');
    expect(welcome.visitorToken).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(welcome.identified).toBe(false);

    const id = messageId();
    visitor.send({ type: 'message', id, text: '我想查询信用卡账单' });
    await visitor.next('ack', (f) => f.id === id);
    // A resend after a lost ack (reconnect) carries the same id and is stored once.
    visitor.send({ type: 'message', id, text: '我想查询信用卡账单' });
    await waitFor(async () => visitor.frames.filter((f) => f.type === 'ack' && f.id === id).length === 2, 10_000, 'second ack');

    const [identity] = await waitFor(async () => {
      const rows = await identityOf('web_visitor');
      return rows.length > 0 && rows;
    });
    expect(identity!.verified).toBe(false);
    expect(identity!.value).not.toBe(welcome.visitorToken);
    const conversation = await waitFor(() => conversationOf(identity!.contact_id), 10_000, 'conversation');
    const stored = await hub.api('GET', `/api/v1/conversations/${conversation.id}/messages`);
    expect(stored.body.items).toEqual([expect.objectContaining({ text: '我想查询信用卡账单', direction: 'inbound' })]);

    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '您好，请稍等' });
    expect(reply.status).toBe(202);
    const pushed = await visitor.next('message', (f) => f.message.id === reply.body.id);
    expect(pushed.message).toMatchObject({ text: '您好，请稍等', direction: 'outbound', authorKind: 'agent', authorName: expect.any(String) });
    await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status === 'sent', 10_000, 'sent');

    const stranger = await hello();
    await stranger.next('welcome');
    stranger.send({ type: 'read', messageId: reply.body.id });
    stranger.send({ type: 'history' });
    // Frames are handled in order: once the history answers, the read was handled (and ignored).
    await stranger.next('history');
    const [readEvents] = await hub.runtime.database.query<{ n: number }>(
      sql`select count(*)::int as n from inbound_events where dedupe_key = ${`read:${reply.body.id}`}`,
    );
    expect(readEvents!.n).toBe(0);
    stranger.close();

    visitor.send({ type: 'read', messageId: reply.body.id });
    await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status === 'read', 10_000, 'read receipt');
    visitor.close();

    const returning = await hello({ visitorToken: welcome.visitorToken });
    await returning.next('welcome');
    returning.send({ type: 'history' });
    const history = await returning.next('history');
    expect(history.messages.map((m: any) => m.text)).toEqual(['我想查询信用卡账单', '您好，请稍等']);
    expect(history.messages[0]).not.toHaveProperty('contactId');
    returning.close();
  });

  it('a customer identified by a signed JWT or by an HMAC of the user id chats as a verified identity', async () => {
    const token = await new SignJWT({ name: '李娜' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cust-8842')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(identitySecret));
    const jwtVisitor = await hello({ identityToken: token });
    expect((await jwtVisitor.next('welcome')).identified).toBe(true);
    jwtVisitor.send({ type: 'message', id: messageId(), text: 'signed in' });
    await jwtVisitor.next('ack');
    const [viaJwt] = await waitFor(async () => {
      const rows = await identityOf('app_user', 'cust-8842');
      return rows.length > 0 && rows;
    });
    expect(viaJwt!.verified).toBe(true);
    expect((await hub.api('GET', `/api/v1/contacts/${viaJwt!.contact_id}`)).body.name).toBe('李娜');
    jwtVisitor.close();

    const hmacVisitor = await hello({ userId: 'cust-9001', userHash: hmacSha256Hex(identitySecret, 'cust-9001') });
    await hmacVisitor.next('welcome');
    hmacVisitor.send({ type: 'message', id: messageId(), text: 'hmac' });
    await hmacVisitor.next('ack');
    const [viaHmac] = await waitFor(async () => {
      const rows = await identityOf('app_user', 'cust-9001');
      return rows.length > 0 && rows;
    });
    expect(viaHmac!.verified).toBe(true);
    hmacVisitor.close();
  });

  it('forged and expired identity tokens, a wrong user hash, and a foreign Origin are refused with a reason, storing nothing', async () => {
    const before = { events: await count('inbound_events'), contacts: await count('contacts') };
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('cust-1').setExpirationTime('10m').sign(new TextEncoder().encode('x'.repeat(40)));
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cust-1')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(identitySecret));

    const cases: Array<[object, Parameters<typeof openSocket>[0], number, RegExp]> = [
      [{ identityToken: forged }, {}, 4401, /not valid/],
      [{ identityToken: expired }, {}, 4401, /expired/],
      [{ userId: 'cust-1', userHash: hmacSha256Hex('wrong-secret', 'cust-1') }, {}, 4401, /does not match/],
      [{}, { origin: 'https://evil.example' }, 4403, /evil\.example/],
      [{}, { channel: '6b0d2d4e-0000-4000-8000-000000000000' }, 4404, /no web chat channel/],
    ];
    for (const [frame, options, code, reason] of cases) {
      const socket = await hello(frame, options);
      const closed = await socket.closed();
      expect(closed.code).toBe(code);
      expect(closed.reason).toMatch(reason);
      expect(socket.frames.filter((f) => f.type === 'welcome')).toEqual([]);
    }
    expect(await count('inbound_events')).toBe(before.events);
    expect(await count('contacts')).toBe(before.contacts);
  });

  it('never returns the identity secret through the API', async () => {
    const { body } = await hub.api('GET', `/api/v1/channels/${channelId}`);
    expect(body.secretsSet).toEqual(['identitySecret']);
    expect(JSON.stringify(body)).not.toContain(identitySecret);
  });

  it('a channel that requires identification refuses anonymous visitors', async () => {
    const strict = await createWebchatChannel({ requireIdentity: true });
    const socket = await hello({}, { channel: strict });
    expect(await socket.closed()).toEqual({ code: 4401, reason: 'please sign in to chat with us' });
  });

  it('an oversized frame closes the socket with 1009 and a reason, and is not stored', async () => {
    const before = await count('inbound_events');
    const visitor = await hello();
    await visitor.next('welcome');
    visitor.send({ type: 'message', id: messageId(), text: 'x'.repeat(40_000) });
    const closed = await visitor.closed();
    expect(closed).toEqual({ code: 1009, reason: 'frames are limited to 32768 bytes' });
    expect(await count('inbound_events')).toBe(before);
  });

  it('malformed frames get an error frame and the socket keeps serving', async () => {
    const visitor = await hello();
    await visitor.next('welcome');
    visitor.sendRaw('not json');
    expect((await visitor.next('error')).message).toMatch(/invalid frame/);
    visitor.send({ type: 'message', id: messageId() });
    expect((await visitor.next('error', (f) => f.code === 'bad_frame' && f.id)).message).toBe('a message needs text or an attachment');
    const id = messageId();
    visitor.send({ type: 'message', id, text: 'still here' });
    await visitor.next('ack', (f) => f.id === id);
    visitor.close();
  });

  it('flooding gets rate-limit errors the widget shows, and only acknowledged messages are stored', async () => {
    const visitor = await hello();
    await visitor.next('welcome');
    const before = await count('inbound_events');
    const ids = Array.from({ length: 10 }, messageId);
    for (const id of ids) visitor.send({ type: 'message', id, text: `flood ${id}` });
    await waitFor(async () => visitor.frames.filter((f) => ids.includes(f.id)).length === ids.length, 10_000, 'replies');
    const acked = visitor.frames.filter((f) => f.type === 'ack' && ids.includes(f.id));
    const limited = visitor.frames.filter((f) => f.type === 'error' && ids.includes(f.id));
    expect(acked.length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].message).toMatch(/too quickly/);
    expect(await count('inbound_events')).toBe(before + acked.length);
    visitor.close();
  });
});

describe('live hints: typing and heartbeat', () => {
  it('the visitor’s typing reaches the assigned agent’s feed, and the agent’s typing reaches the visitor with the agent’s name', async () => {
    const agent = await createAgent(hub, 'chen.jie@bank.test', { languages: ['zh'], capacity: 2 });
    const other = await createAgent(hub, 'other.agent@bank.test', { languages: ['zh'], capacity: 2 });
    // Busy: earlier tests' conversations wait in the queue, and this one is handed over explicitly.
    await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' });
    const feed = await openAgentFeed(hub, agent);
    const otherFeed = await openAgentFeed(hub, other);

    const visitor = await hello();
    const welcome = await visitor.next('welcome');
    const id = messageId();
    visitor.send({ type: 'message', id, text: '我的卡被锁了' });
    await visitor.next('ack', (f) => f.id === id);
    const conversationId = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ id: string }>(sql`select conversation_id as id from messages where payload->>'clientId' = ${id}`);
      return row?.id;
    }, 10_000, 'the stored message');
    const transfer = await hub.api('POST', `/api/v1/conversations/${conversationId}/transfer`, { agentId: agent.id });
    expect(transfer.status).toBe(200);

    visitor.send({ type: 'typing' });
    await feed.next((m) => m.type === 'visitor.typing' && m.conversationId === conversationId, 'visitor typing');
    // Typing is a live hint only: nothing is stored for it.
    const [stored] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events where payload->>'type' = 'typing'`);
    expect(stored!.n).toBe(0);

    feed.send({ type: 'typing', conversationId });
    expect(await visitor.next('typing')).toEqual({ type: 'typing', agentName: 'chen.jie' });
    // Another tab of the same visitor hears it too.
    const secondTab = await hello({ visitorToken: welcome.visitorToken });
    await secondTab.next('welcome');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    feed.send({ type: 'typing', conversationId });
    await secondTab.next('typing');

    // An agent the conversation is not assigned to cannot make the visitor see them typing.
    const before = visitor.frames.filter((f) => f.type === 'typing').length;
    otherFeed.send({ type: 'typing', conversationId });
    otherFeed.send({ type: 'typing', conversationId: 'not-a-uuid' });
    expect((await otherFeed.next((m) => m.type === 'error', 'error frame')).code).toBe('bad_frame');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(visitor.frames.filter((f) => f.type === 'typing').length).toBe(before);
    expect(otherFeed.received.some((m) => m.type === 'visitor.typing')).toBe(false);
    for (const socket of [visitor, secondTab]) socket.close();
    feed.close();
    otherFeed.close();
  });

  it('a socket that does not answer pings is closed by the hub, while one that answers stays open', async () => {
    const silent = await openSocket({ autoPong: false });
    silent.send({ type: 'hello' });
    await silent.next('welcome');
    const answering = await hello();
    await answering.next('welcome');
    expect((await silent.closed()).code).toBe(1006);
    answering.send({ type: 'history' });
    await answering.next('history');
    answering.close();
  });
});

describe('web chat over HTTP, for browsers whose WebSockets are blocked', () => {
  const post = (path: string, body: unknown, from = origin) =>
    fetch(`${hub.baseUrl}/widget/v1/channels/${channelId}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: from },
      body: JSON.stringify(body),
    });

  it('sends and polls with the same frames as the socket', async () => {
    const first = await post('/frames', { hello: {} });
    expect(first.status).toBe(200);
    expect(first.headers.get('access-control-allow-origin')).toBe(origin);
    const { welcome } = await first.json();
    const id = messageId();
    const sent = await post('/frames', { hello: { visitorToken: welcome.visitorToken }, frame: { type: 'message', id, text: 'polling works' } });
    expect(await sent.json()).toMatchObject({ replies: [{ type: 'ack', id }] });
    const history = await waitFor(async () => {
      const response = await post('/frames', { hello: { visitorToken: welcome.visitorToken }, frame: { type: 'history' } });
      const { replies } = await response.json();
      return replies[0].messages.length > 0 && replies[0].messages;
    });
    expect(history.map((m: any) => m.text)).toEqual(['polling works']);
  });

  it('refuses a foreign Origin, disallowed file types and oversized files with a clear error', async () => {
    const before = await count('attachments');
    const foreign = await post('/frames', { hello: {} }, 'https://evil.example');
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error).toMatch(/may not be embedded on https:\/\/evil\.example/);

    const upload = (contentType: string, data: Buffer) =>
      fetch(`${hub.baseUrl}/widget/v1/channels/${channelId}/attachments`, {
        method: 'POST',
        headers: { 'content-type': contentType, origin, 'x-hub-hello': encodeURIComponent('{}') },
        body: new Uint8Array(data),
      });
    const exe = await upload('application/x-msdownload', Buffer.from('MZ'));
    expect(exe.status).toBe(415);
    expect((await exe.json()).error).toMatch(/not accepted/);
    const huge = await upload('image/png', Buffer.alloc(5 * 1024 * 1024 + 1));
    expect(huge.status).toBe(413);
    expect(await count('attachments')).toBe(before);
  });
});
