import { readFile } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, openAgentFeed, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

// Routing driven from outside, as a bank's integrator does: the CRM pushes contacts and tiers,
// the core system writes on the API channel and reads the callbacks, consoles read the API.

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
const missing = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  hub = await startTestHub({ queueNotices: true });
  callback = await startCallbackServer([200]);
  // No bot on this channel: every conversation is handed to people as it opens.
  channel = await hub.createApiChannel(callback.url);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

let sent = 0;
/** The bank's core system posts a customer's message on the API channel. */
async function customerPosts(phone: string, text: string, on = channel) {
  const response = await hub.postSigned(on.id, on.secret, { messageId: `m-${phone}-${++sent}`, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
}

/** The customer's open conversation, once it exists. */
function conversationOf(phone: string): Promise<string> {
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} and c.status <> 'resolved'`,
    );
    return row?.id;
  }, 10_000, `conversation of ${phone}`);
}

const conversation = async (id: string) => (await hub.api('GET', `/api/v1/conversations/${id}`)).body;
const customerMessages = async (id: string) =>
  ((await hub.api('GET', `/api/v1/conversations/${id}/messages?limit=200`)).body.items as any[]).filter((m) => m.direction === 'inbound');
const callbacksFor = (conversationId: string) => callback.received.map((r) => JSON.parse(r.body)).filter((b) => b.conversationId === conversationId);

/** Nobody takes new work: the suite's conversations wait until a test brings its agent online. */
async function everyoneOffline() {
  const agents = (await hub.api('GET', '/api/v1/agents')).body.items as Array<{ userId: string }>;
  for (const a of agents) expect((await hub.api('PUT', `/api/v1/agents/${a.userId}/presence`, { presence: 'offline' })).status).toBe(200);
}

describe('tiers from the CRM', () => {
  it('a tier written "VIP" is a VIP: the conversation waits at VIP priority, and rules match tiers without regard to case', async () => {
    const crm = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000001', verified: true }], name: '王先生', tier: 'VIP' });
    expect(crm.status).toBe(200);
    expect(crm.body.contact).toMatchObject({ tier: 'VIP', tierRouting: { vip: true, vipPriority: 2, ruleIds: [], known: true } });
    expect(crm.body.contact.tierRouting.warning).toBeUndefined();

    const rule = await hub.api('POST', '/api/v1/routing/rules', { name: 'Private banking', conditions: { tiers: ['Private'] }, actions: { priority: 3, requiredSkills: ['wealth'] } });
    expect(rule.status).toBe(201);
    const privateClient = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000002' }], tier: 'PRIVATE' });
    expect(privateClient.body.contact.tierRouting).toEqual({ vip: false, vipPriority: null, ruleIds: [rule.body.id], known: true });

    await customerPosts('+8613900000001', '我想咨询理财');
    await customerPosts('+8613900000002', '我想咨询理财');
    const vip = await conversationOf('+8613900000001');
    const wealthy = await conversationOf('+8613900000002');
    await waitFor(async () => (await conversation(vip)).routingStatus === 'queued' && (await conversation(wealthy)).routingStatus === 'queued', 10_000, 'both queued');
    expect(await conversation(vip)).toMatchObject({ priority: 2 });
    expect(await conversation(wealthy)).toMatchObject({ priority: 3, requiredSkills: ['wealth'], routingRuleId: rule.body.id });
    for (const done of [vip, wealthy]) expect((await hub.api('POST', `/api/v1/conversations/${done}/resolve`)).status).toBe(200);
  });

  it('a tier no routing setting knows is reported in the contact’s answer, not silently ignored', async () => {
    const created = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000003' }], tier: 'Gold' });
    expect(created.status).toBe(200);
    const { tierRouting } = created.body.contact;
    expect(tierRouting).toMatchObject({ vip: false, vipPriority: null, ruleIds: [], known: false });
    expect(tierRouting.warning).toMatch(/tier "Gold" is not one of the routing VIP tiers \(vip\) and no enabled routing rule names it/);

    const id = created.body.contact.id;
    expect((await hub.api('GET', `/api/v1/contacts/${id}`)).body.tierRouting.known).toBe(false);
    // The admin makes Gold a VIP tier, in whatever case: the contact's answer follows.
    expect((await hub.api('PATCH', '/api/v1/routing/settings', { vipTiers: ['vip', 'GOLD'] })).status).toBe(200);
    expect((await hub.api('GET', `/api/v1/contacts/${id}`)).body.tierRouting).toEqual({ vip: true, vipPriority: 2, ruleIds: [], known: true });
    const noTier = await hub.api('PATCH', `/api/v1/contacts/${id}`, { tier: null });
    expect(noTier.body.tierRouting).toBeNull();
  });
});

describe('assignment history', () => {
  let first: TestAgent;
  let second: TestAgent;
  let outsider: TestAgent;
  let supervisor: TestAgent;

  beforeAll(async () => {
    await everyoneOffline();
    first = await createAgent(hub, 'first@bank.test', { capacity: 2 });
    second = await createAgent(hub, 'second@bank.test', { capacity: 2 });
    outsider = await createAgent(hub, 'outsider@bank.test', { capacity: 2 });
    supervisor = await createAgent(hub, 'supervisor@bank.test', undefined, 'supervisor');
  });

  it('lists who had the conversation, when and why, how each assignment ended, and the transfers with their notes', async () => {
    await first.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    await customerPosts('+8613900000010', '我的转账一直没到');
    const id = await conversationOf('+8613900000010');
    await waitFor(async () => (await conversation(id)).assigneeId === first.id, 10_000, 'assignment to first');
    await second.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' });
    const moved = await first.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: second.id, note: '客户的跨行转账，请查清算状态' });
    expect(moved.status).toBe(200);
    expect((await second.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);

    const history = await first.api('GET', `/api/v1/conversations/${id}/assignments`);
    expect(history.status).toBe(200);
    expect(history.body).toEqual({
      conversationId: id,
      items: [
        {
          id: expect.any(String),
          agentId: first.id,
          agentName: expect.any(String),
          reason: 'queue',
          note: null,
          actorUserId: null,
          actorName: null,
          assignedAt: expect.any(String),
          endedAt: expect.any(String),
          endReason: 'transferred',
        },
        {
          id: expect.any(String),
          agentId: second.id,
          agentName: expect.any(String),
          reason: 'transfer',
          note: '客户的跨行转账，请查清算状态',
          actorUserId: first.id,
          actorName: expect.any(String),
          assignedAt: expect.any(String),
          endedAt: expect.any(String),
          endReason: 'resolved',
        },
      ],
      transfers: [
        {
          id: expect.any(String),
          fromAgentId: first.id,
          fromAgentName: expect.any(String),
          toAgentId: second.id,
          toAgentName: expect.any(String),
          toTeamId: null,
          toTeamName: null,
          note: '客户的跨行转账，请查清算状态',
          actorUserId: first.id,
          actorName: expect.any(String),
          createdAt: expect.any(String),
        },
      ],
    });
    const [queued, transferred] = history.body.items;
    expect(Date.parse(queued.assignedAt)).toBeLessThanOrEqual(Date.parse(queued.endedAt));
    expect(Date.parse(queued.endedAt)).toBeLessThanOrEqual(Date.parse(transferred.assignedAt));

    expect((await second.api('GET', `/api/v1/conversations/${id}/assignments`)).status).toBe(200);
    expect((await supervisor.api('GET', `/api/v1/conversations/${id}/assignments`)).body).toEqual(history.body);
    expect((await hub.api('GET', `/api/v1/conversations/${id}/assignments`)).status).toBe(200);
    const refused = await outsider.api('GET', `/api/v1/conversations/${id}/assignments`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/may not see or act on this conversation/);
    expect((await supervisor.api('GET', `/api/v1/conversations/${missing}/assignments`)).status).toBe(404);

    const openapi = (await (await fetch(`${hub.baseUrl}/api/openapi.json`)).json()) as { paths: Record<string, any> };
    expect(openapi.paths['/api/v1/conversations/{id}/assignments']?.get.description).toBe('Roles: admin, supervisor, agent.');
    await first.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' });
    await second.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' });
  });

  it('a conversation waiting for its first agent has an empty history, which the agents who may take it can read', async () => {
    await everyoneOffline();
    await customerPosts('+8613900000011', '你好');
    const id = await conversationOf('+8613900000011');
    await waitFor(async () => (await conversation(id)).routingStatus === 'queued', 10_000, 'queued');
    expect((await supervisor.api('GET', `/api/v1/conversations/${id}/assignments`)).body).toEqual({ conversationId: id, items: [], transfers: [] });
    // Waiting in the common line, it is any agent's to take (docs/security.md), history included.
    const waiting = await first.api('GET', `/api/v1/conversations/${id}/assignments`);
    expect(waiting.status).toBe(200);
    expect(waiting.body).toEqual({ conversationId: id, items: [], transfers: [] });
    expect((await hub.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
  });
});

describe('the notice texts an integrator sees', () => {
  it('the default queue-notice and bot texts are the ones the docs list, and the callbacks carry the documented payload fields', async () => {
    const routingDoc = await readFile(new URL('../docs/routing.md', import.meta.url), 'utf8');
    const botDoc = await readFile(new URL('../docs/bot.md', import.meta.url), 'utf8');
    // A fresh hub's settings are the defaults; the suite changed only vipTiers.
    const settings = (await hub.api('GET', '/api/v1/routing/settings')).body;
    expect(routingDoc).toContain(settings.queueNotice.texts.zh);
    expect(routingDoc).toContain(settings.queueNotice.texts.en);
    expect(routingDoc).toContain(settings.queueNotice.placedAheadTexts.zh);
    expect(routingDoc).toContain(settings.queueNotice.placedAheadTexts.en);

    const botChannel = await hub.createApiChannel(callback.url);
    const bot = (await hub.api('GET', `/api/v1/channels/${botChannel.id}/bot`)).body;
    for (const text of [bot.offerText, bot.fallbackText, bot.handoverText]) expect(botDoc).toContain(text);
    expect((await hub.api('PATCH', `/api/v1/channels/${botChannel.id}/bot`, { enabled: true })).status).toBe(200);

    await everyoneOffline();
    await customerPosts('+8613900000020', '这是什么东西', botChannel);
    const id = await conversationOf('+8613900000020');
    const fallback = await waitFor(async () => callbacksFor(id).find((b) => b.payload?.bot?.kind === 'fallback'), 10_000, 'fallback callback');
    expect(fallback).toMatchObject({ conversationId: id, contentKind: 'text', text: bot.fallbackText, payload: { bot: { kind: 'fallback', failures: 1 } } });

    await customerPosts('+8613900000020', '转人工', botChannel);
    const handover = await waitFor(async () => callbacksFor(id).find((b) => b.payload?.bot?.kind === 'handover'), 10_000, 'handover callback');
    expect(handover).toMatchObject({ text: bot.handoverText, payload: { bot: { kind: 'handover', reason: 'customer_request' } } });

    const notice = await waitFor(async () => callbacksFor(id).find((b) => b.payload?.queueNotice), 10_000, 'queue notice callback');
    const { position, ahead, minutes } = notice.payload.queueNotice;
    expect(notice.payload.queueNotice).toEqual({ position: expect.any(Number), ahead: position - 1, minutes: expect.any(Number), reason: 'joined' });
    expect(minutes).toBeGreaterThanOrEqual(1);
    expect(notice.text).toBe(settings.queueNotice.texts.zh.replace('{ahead}', ahead).replace('{position}', position).replace('{minutes}', minutes));
    expect(routingDoc).toMatch(/payload\.queueNotice/);
    expect(botDoc).toMatch(/payload\.bot/);
    expect((await hub.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
  });
});

describe('the first messages reach the agent', () => {
  it('conversation.assigned carries the customer’s latest messages, oldest first, so the console need not fetch them', async () => {
    await everyoneOffline();
    const reader = await createAgent(hub, 'reader@bank.test', { capacity: 5 });
    const feed = await openAgentFeed(hub, reader);

    await customerPosts('+8613900000030', '您好，我的信用卡被锁了');
    const short = await conversationOf('+8613900000030');
    await customerPosts('+8613900000030', '尾号 8821');
    await waitFor(async () => (await customerMessages(short)).length === 2, 10_000, 'both messages stored');
    // A chatty customer: only the latest ten travel with the assignment.
    await customerPosts('+8613900000031', 'message 1');
    const long = await conversationOf('+8613900000031');
    for (let i = 2; i <= 12; i++) await customerPosts('+8613900000031', `message ${i}`);
    await waitFor(async () => (await customerMessages(long)).length === 12, 10_000, 'twelve messages stored');
    await waitFor(async () => (await conversation(short)).routingStatus === 'queued' && (await conversation(long)).routingStatus === 'queued', 10_000, 'both queued');

    expect((await reader.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
    const first = await feed.next((m) => m.type === 'conversation.assigned' && m.conversationId === short, 'assignment with messages');
    const stored = await customerMessages(short);
    expect(first).toMatchObject({ agentId: reader.id, reason: 'queue', olderMessages: false });
    expect(first.messages).toEqual(
      stored.map((m) => ({
        id: m.id,
        conversationId: short,
        channelId: channel.id,
        direction: 'inbound',
        authorKind: 'contact',
        contentKind: 'text',
        text: m.text,
        payload: m.payload,
        createdAt: m.createdAt,
        // Nothing here is a card or ID number: shown as written, nothing to reveal.
        masked: false,
        revealable: false,
      })),
    );
    expect(first.messages.map((m: any) => m.text)).toEqual(['您好，我的信用卡被锁了', '尾号 8821']);

    const chatty = await feed.next((m) => m.type === 'conversation.assigned' && m.conversationId === long, 'assignment of the chatty customer');
    expect(chatty.olderMessages).toBe(true);
    expect(chatty.messages.map((m: any) => m.id)).toEqual((await customerMessages(long)).slice(2).map((m) => m.id));

    // What the customer writes after the assignment arrives as before, one message at a time.
    await customerPosts('+8613900000030', '还在吗？');
    const live = await feed.next((m) => m.type === 'message.created' && m.conversationId === short && m.direction === 'inbound', 'a later message');
    expect((await customerMessages(short)).find((m) => m.id === live.messageId)?.text).toBe('还在吗？');
    feed.close();
  });
});
