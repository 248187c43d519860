import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createAgent, openAgentFeed, type AgentFeed, type TestAgent } from './support/test-agents.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

// The REST and socket surface of the agent and supervisor console, over real HTTP and WebSocket.
// One scenario runs through the suite: three customers write in on an API channel without a bot,
// so each conversation goes to the routing queue at once.

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let agentA: TestAgent;
let agentB: TestAgent;
let supervisor: TestAgent;
let cards: { id: string; name: string };
/** 王小明 lost his card (common line, normal priority): taken by agent A. */
let lostCard: string;
/** Li Na asks about a mortgage (common line): keeps waiting. */
let mortgage: string;
/** Zhao Lei reports a stolen card: a rule sends it to the Cards team with priority 3, agent B takes it. */
let stolen: string;

const longQuestion = `Hello, I would like to ask about the mortgage rates for a second home in Shanghai, and whether an early repayment carries a fee, ${'and more details '.repeat(5)}`;

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  const team = await hub.api('POST', '/api/v1/teams', { name: 'Cards' });
  cards = team.body;
  const rule = await hub.api('POST', '/api/v1/routing/rules', {
    name: 'Stolen cards',
    conditions: { keywords: ['挂失'] },
    actions: { teamId: cards.id, priority: 3 },
  });
  expect(rule.status).toBe(201);
  agentA = await createAgent(hub, 'a.agent@bank.test', { capacity: 1 });
  agentB = await createAgent(hub, 'b.agent@bank.test', { capacity: 1, teamIds: [cards.id] });
  // A supervisor who takes no conversations: no agent profile.
  supervisor = await createAgent(hub, 'sup@bank.test', undefined, 'supervisor');

  lostCard = await customerWrites(channel, { kind: 'phone', value: '+8613900000001', name: '王小明' }, '我的信用卡丢了');
  mortgage = await customerWrites(channel, { kind: 'email', value: 'li.na@example.cn', name: 'Li Na' }, longQuestion);
  stolen = await customerWrites(channel, { kind: 'phone', value: '+8613900000003', name: 'Zhao Lei' }, '我要挂失，卡被偷了');
  await waitFor(async () => (await conversation(stolen)).teamId === cards.id, 10_000, 'the rule to route the stolen card');
  // A takes the oldest conversation it may serve; B, in the Cards team, the urgent one.
  expect((await agentA.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
  expect((await agentB.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
  expect(await conversation(lostCard)).toMatchObject({ assigneeId: agentA.id });
  expect(await conversation(stolen)).toMatchObject({ assigneeId: agentB.id });
  expect(await conversation(mortgage)).toMatchObject({ routingStatus: 'queued' });
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

let sent = 0;
/** A customer writes in on an API channel; returns their conversation once it waits in the queue or was routed. */
async function customerWrites(on: { id: string; secret: string }, from: { kind: string; value: string; name?: string }, text: string) {
  const response = await hub.postSigned(on.id, on.secret, { messageId: `m-${Date.now()}-${sent++}`, from, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.value = ${from.value} and c.status <> 'resolved' and c.routing_status is not null
            and exists (select 1 from messages m where m.conversation_id = c.id and m.text = ${text})`,
    );
    return row?.id;
  }, 10_000, `conversation of ${from.value}`);
}

const conversation = async (id: string) => (await hub.api('GET', `/api/v1/conversations/${id}`)).body;
const list = async (who: TestAgent | TestHub, query: string) => {
  const response = await who.api('GET', `/api/v1/conversations?${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { items: any[]; nextCursor: string | null };
};
const ids = (page: { items: Array<{ id: string }> }) => page.items.map((item) => item.id);

describe('conversation list for the console', () => {
  it('view=mine lists the caller’s conversations with what a row shows', async () => {
    const mine = await list(agentA, 'view=mine');
    expect(ids(mine)).toEqual([lostCard]);
    const row = mine.items[0];
    expect(row).toMatchObject({
      id: lostCard,
      status: 'open',
      routingStatus: 'assigned',
      assigneeId: agentA.id,
      priority: 1,
      contact: { name: '王小明', tier: null },
      lastChannel: { id: channel.id, type: 'api', name: 'Core banking' },
      lastMessage: { text: '我的信用卡丢了', truncated: false, direction: 'inbound', authorKind: 'contact', contentKind: 'text' },
      assignee: { id: agentA.id, name: expect.any(String) },
      team: null,
      waitingSeconds: null,
      unansweredCount: 1,
    });
    expect(row.contact.id).toBe(row.contactId);
    expect(new Date(row.lastMessage.at).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('view=queue lists waiting conversations in line order, optionally of one team', async () => {
    const admin = await list(hub, 'view=queue');
    expect(ids(admin)).toEqual([mortgage]);
    await hub.api('PUT', `/api/v1/agents/${agentB.id}/presence`, { presence: 'away' });
    // Put the stolen card back in Cards' line: it leads the queue, priority first.
    expect((await hub.api('POST', `/api/v1/conversations/${stolen}/transfer`, { teamId: cards.id })).status).toBe(200);
    // Agents see the common line and their teams' lines: B (Cards) both, A (no team) the common one.
    expect(ids(await list(agentA, 'view=queue'))).toEqual([mortgage]);
    const queue = await list(agentB, 'view=queue');
    expect(ids(queue)).toEqual([stolen, mortgage]);
    expect(queue.items[0]).toMatchObject({ priority: 3, team: { id: cards.id, name: 'Cards' }, assignee: null, routingStatus: 'queued' });
    expect(queue.items[0].waitingSeconds).toBeGreaterThanOrEqual(0);
    expect(queue.items[1]).toMatchObject({ priority: 1, team: null, contact: { name: 'Li Na' } });
    expect(ids(await list(agentB, `view=queue&teamId=${cards.id}`))).toEqual([stolen]);
    expect(ids(await list(hub, 'priority=3'))).toEqual([stolen]);
    expect(ids(await list(hub, `channelId=${channel.id}&status=open&priority=1`)).sort()).toEqual([lostCard, mortgage].sort());

    // Keyset pages of the queue, one at a time, in line order.
    const first = await list(agentB, 'view=queue&limit=1');
    const second = await list(agentB, `view=queue&limit=1&cursor=${first.nextCursor}`);
    expect([...ids(first), ...ids(second)]).toEqual([stolen, mortgage]);
    expect(second.nextCursor).toBeNull();

    await hub.api('PUT', `/api/v1/agents/${agentB.id}/presence`, { presence: 'online' });
    expect(await conversation(stolen)).toMatchObject({ assigneeId: agentB.id, routingStatus: 'assigned' });
  });

  it('view=all pages through every conversation for supervisors; agents get 403 for it and for colleagues’ conversations', async () => {
    const first = await list(supervisor, 'view=all&limit=2');
    expect(first.items).toHaveLength(2);
    const second = await list(supervisor, `view=all&limit=2&cursor=${first.nextCursor}`);
    expect(second.nextCursor).toBeNull();
    expect([...ids(first), ...ids(second)].sort()).toEqual([lostCard, mortgage, stolen].sort());

    expect((await agentA.api('GET', '/api/v1/conversations?view=all')).status).toBe(403);
    expect((await agentA.api('GET', `/api/v1/conversations?assigneeId=${agentB.id}`)).status).toBe(403);
    expect(ids(await list(agentA, `assigneeId=${agentA.id}`))).toEqual([lostCard]);
    expect(ids(await list(supervisor, `view=mine`))).toEqual([]);
    expect((await agentA.api('GET', '/api/v1/conversations?view=everything')).status).toBe(400);
    expect((await agentA.api('GET', '/api/v1/conversations?view=queue&cursor=garbage')).status).toBe(400);
  });

  it('q finds conversations by contact name, identity value and message text', async () => {
    const search = async (q: string) => ids(await list(hub, `view=all&q=${encodeURIComponent(q)}`)).sort();
    expect(await search('王小')).toEqual([lostCard]);
    expect(await search('zhao lei')).toEqual([stolen]);
    expect(await search('13900000003')).toEqual([stolen]);
    expect(await search('li.na@example')).toEqual([mortgage]);
    expect(await search('信用卡')).toEqual([lostCard]);
    expect(await search('early repayment')).toEqual([mortgage]);
    expect(await search('100%')).toEqual([]);
    expect(await search('nothing like this')).toEqual([]);
    // Search combines with the other filters.
    expect(ids(await list(agentA, `view=mine&q=${encodeURIComponent('Li Na')}`))).toEqual([]);
    expect((await hub.api('GET', '/api/v1/conversations?q=x')).status).toBe(400);
  });

  it('a long last message is cut for the row', async () => {
    const [row] = (await list(hub, `view=queue&q=mortgage`)).items;
    expect(row.lastMessage.truncated).toBe(true);
    expect(row.lastMessage.text).toBe(longQuestion.slice(0, 120));
  });
});

describe('private notes', () => {
  it('are listed with the messages for staff, never reach the customer, and are not an agent’s answer', async () => {
    const note = await agentA.api('POST', `/api/v1/conversations/${lostCard}/notes`, { text: '客户情绪激动，先核实身份再冻结' });
    expect(note.status).toBe(201);
    expect(note.body).toMatchObject({ conversationId: lostCard, direction: 'internal', authorKind: 'agent', authorId: agentA.id, status: 'received' });
    const messages = (await supervisor.api('GET', `/api/v1/conversations/${lostCard}/messages`)).body.items;
    expect(messages.map((m: any) => [m.direction, m.text])).toEqual([
      ['inbound', '我的信用卡丢了'],
      ['internal', '客户情绪激动，先核实身份再冻结'],
    ]);
    // The row still shows the customer's last message, still waiting for an answer.
    const [row] = (await list(agentA, 'view=mine')).items;
    expect(row.lastMessage.text).toBe('我的信用卡丢了');
    expect(row.unansweredCount).toBe(1);

    // Going offline returns the conversations nobody answered: the note is no answer.
    expect((await agentA.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' })).status).toBe(200);
    expect(await conversation(lostCard)).toMatchObject({ routingStatus: 'queued', assigneeId: null });
    expect((await agentA.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
    expect(await conversation(lostCard)).toMatchObject({ routingStatus: 'assigned', assigneeId: agentA.id });

    // A real reply reaches the bank system; the note, written before it, never does.
    const reply = await agentA.api('POST', `/api/v1/conversations/${lostCard}/messages`, { text: '您好，已为您冻结卡片' });
    expect(reply.status).toBe(202);
    await waitFor(async () => callback.received.some((r) => JSON.parse(r.body).text === '您好，已为您冻结卡片'), 10_000, 'the reply at the bank system');
    expect(callback.received.map((r) => r.body).join('\n')).not.toContain('客户情绪激动');
    expect((await hub.api('GET', `/api/v1/messages/${note.body.id}`)).body.status).toBe('received');
    const [answered] = (await list(agentA, 'view=mine')).items;
    expect(answered).toMatchObject({ unansweredCount: 0, lastMessage: { text: '您好，已为您冻结卡片', direction: 'outbound', authorKind: 'agent' } });
  });

  it('never show in the customer’s own history (mobile app)', async () => {
    const tokenSecret = randomBytes(32).toString('hex');
    const created = await hub.api('POST', '/api/v1/channels', { type: 'app', name: 'Bank App', config: { tokenAlgorithm: 'HS256', tokenSecret } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('cust-note').setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(tokenSecret));
    const appApi = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${hub.baseUrl}/api/app/v1/channels/${created.body.id}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
    expect((await appApi('POST', '/messages', { clientMessageId: 'n-1', text: '我的账户被冻结了' })).status).toBe(202);
    const id = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ id: string }>(
        sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id where i.kind = 'app_user' and i.value = 'cust-note'`,
      );
      return row?.id;
    }, 10_000, 'the app conversation');
    expect((await supervisor.api('POST', `/api/v1/conversations/${id}/notes`, { text: 'KYC review pending' })).status).toBe(201);
    const reply = await supervisor.api('POST', `/api/v1/conversations/${id}/messages`, { text: '正在为您核实' });
    await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status === 'sent', 10_000, 'the reply');
    const history = await appApi('GET', '/messages');
    expect(history.body.items.map((m: any) => m.text)).toEqual(['正在为您核实', '我的账户被冻结了']);
    // Out of the way of the scenario's queue.
    expect((await hub.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
  });

  it('on a waiting conversation leave it waiting; a retried request stores one note; bad input is refused', async () => {
    const first = await supervisor.api('POST', `/api/v1/conversations/${mortgage}/notes`, { text: 'VIP prospect' });
    expect(first.status).toBe(201);
    expect(await conversation(mortgage)).toMatchObject({ routingStatus: 'queued', assigneeId: null });

    const keyed = (text: string) =>
      fetch(`${hub.baseUrl}/api/v1/conversations/${mortgage}/notes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${supervisor.token}`, 'content-type': 'application/json', 'idempotency-key': 'note-1' },
        body: JSON.stringify({ text }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const once = await keyed('call back tomorrow');
    const again = await keyed('call back tomorrow');
    expect(again.body.id).toBe(once.body.id);
    expect((await keyed('something else')).status).toBe(409);
    expect((await supervisor.api('POST', `/api/v1/conversations/${mortgage}/notes`, { text: '  ' })).status).toBe(400);
    expect((await supervisor.api('POST', `/api/v1/conversations/00000000-0000-4000-8000-000000000000/notes`, { text: 'x' })).status).toBe(404);
  });
});

describe('live feed for consoles', () => {
  let supervisorFeed: AgentFeed;
  let agentFeed: AgentFeed;

  beforeAll(async () => {
    supervisorFeed = await openAgentFeed(hub, supervisor);
    agentFeed = await openAgentFeed(hub, agentB);
  });
  afterAll(() => {
    supervisorFeed?.close();
    agentFeed?.close();
  });

  it('a supervisor without an agent profile hears every conversation; an agent only their own', async () => {
    expect(supervisorFeed.received.find((m) => m.type === 'ready')).toMatchObject({ agentId: supervisor.id, scope: 'all' });
    expect(agentFeed.received.find((m) => m.type === 'ready')).toMatchObject({ agentId: agentB.id, scope: 'assigned' });

    // The mortgage conversation waits, assigned to nobody: a new message, a note and a transfer.
    await customerWrites(channel, { kind: 'email', value: 'li.na@example.cn' }, 'Are you there?');
    const inbound = await supervisorFeed.next((m) => m.type === 'message.created' && m.conversationId === mortgage && m.direction === 'inbound', 'the message');
    const messages = (await supervisor.api('GET', `/api/v1/conversations/${mortgage}/messages`)).body.items;
    expect(messages.find((m: any) => m.id === inbound.messageId).text).toBe('Are you there?');
    const note = await supervisor.api('POST', `/api/v1/conversations/${mortgage}/notes`, { text: 'ask wealth team' });
    await supervisorFeed.next((m) => m.type === 'message.created' && m.messageId === note.body.id && m.direction === 'internal', 'the note');
    expect((await supervisor.api('POST', `/api/v1/conversations/${mortgage}/transfer`, { teamId: cards.id })).status).toBe(200);
    const updated = await supervisorFeed.next((m) => m.type === 'conversation.updated' && m.conversationId === mortgage, 'the conversation update');
    expect(updated).toEqual({
      type: 'conversation.updated',
      conversationId: mortgage,
      status: 'open',
      routingStatus: 'queued',
      assigneeId: null,
      teamId: cards.id,
      priority: 1,
    });

    // Agent B hears what happens in their own conversation, after all of the above…
    await customerWrites(channel, { kind: 'phone', value: '+8613900000003' }, '请尽快处理');
    await agentFeed.next((m) => m.type === 'message.created' && m.conversationId === stolen, 'a message in B’s own conversation');
    // …and nothing of the conversation that is not theirs.
    expect(agentFeed.received.filter((m) => m.conversationId === mortgage)).toEqual([]);
    expect(agentFeed.received.some((m) => m.type === 'queue.changed')).toBe(true);
  });

  it('resolving and reopening reach the supervisor and the assigned agent as conversation.updated', async () => {
    expect((await agentB.api('POST', `/api/v1/conversations/${stolen}/resolve`)).status).toBe(200);
    const expected = { type: 'conversation.updated', conversationId: stolen, status: 'resolved', routingStatus: null, assigneeId: agentB.id };
    await supervisorFeed.next((m) => m.type === 'conversation.updated' && m.conversationId === stolen && m.status === 'resolved', 'resolved, supervisor');
    const mine = await agentFeed.next((m) => m.type === 'conversation.updated' && m.conversationId === stolen && m.status === 'resolved', 'resolved, agent');
    expect(mine).toMatchObject(expected);
    // B's freed seat takes the mortgage conversation from the Cards line.
    await agentFeed.next((m) => m.type === 'conversation.assigned' && m.conversationId === mortgage, 'the next conversation');
    await supervisorFeed.next((m) => m.type === 'conversation.assigned' && m.conversationId === mortgage && m.agentId === agentB.id, 'its assignment');
    await supervisorFeed.next(
      (m) => m.type === 'conversation.updated' && m.conversationId === mortgage && m.routingStatus === 'assigned' && m.assigneeId === agentB.id,
      'its update',
    );

    // Reopened while B has no room: it waits in the Cards line again, which only the supervisor hears.
    expect((await supervisor.api('POST', `/api/v1/conversations/${stolen}/reopen`)).status).toBe(200);
    const reopened = await supervisorFeed.next((m) => m.type === 'conversation.updated' && m.conversationId === stolen && m.status === 'open', 'reopened');
    expect(reopened).toMatchObject({ routingStatus: 'queued', assigneeId: null, teamId: cards.id, priority: 3 });
    await customerWrites(channel, { kind: 'email', value: 'li.na@example.cn' }, 'Thanks');
    await agentFeed.next((m) => m.type === 'message.created' && m.conversationId === mortgage, 'a message in B’s new conversation');
    expect(agentFeed.received.filter((m) => m.conversationId === stolen && m.type === 'conversation.updated' && m.status === 'open')).toEqual([]);
  });

  it('SLA warnings reach the assignee and supervisors, not other agents', async () => {
    // As the SLA timer publishes it when a clock nears its target.
    const warning = { type: 'sla.warning', conversationId: lostCard, target: 'first_response', policyId: 'p-1', dueAt: new Date().toISOString(), assigneeId: agentA.id, teamId: null } as const;
    const feedA = await openAgentFeed(hub, agentA);
    try {
      await hub.runtime.events.publish([warning]);
      await feedA.next((m) => m.type === 'sla.warning' && m.conversationId === lostCard, 'the warning at the assignee');
      await supervisorFeed.next((m) => m.type === 'sla.warning' && m.conversationId === lostCard, 'the warning at the supervisor');
      // Agent B hears something of their own after it, and never the warning.
      const own = () => agentFeed.received.filter((m) => m.type === 'message.created' && m.conversationId === mortgage).length;
      const before = own();
      await customerWrites(channel, { kind: 'email', value: 'li.na@example.cn' }, 'Any news?');
      await waitFor(async () => own() > before, 10_000, 'B’s own new message');
      expect(agentFeed.received.filter((m) => m.type === 'sla.warning')).toEqual([]);
    } finally {
      feedA.close();
    }
  });

  it('refuses a ticket whose user has since been disabled or made a marketer', async () => {
    const opens = async (user: TestAgent, change: ReturnType<typeof sql>) => {
      const { body } = await user.api('POST', '/api/v1/agents/me/socket-ticket');
      await hub.runtime.database.query(change);
      const socket = new WebSocket(`${hub.baseUrl.replace('http', 'ws')}${body.path}`);
      return new Promise<number>((resolve) => {
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => resolve(101));
      });
    };
    const marketer = await createAgent(hub, 'mkt@bank.test');
    expect(await opens(marketer, sql`update users set role = 'marketer' where id = ${marketer.id}`)).toBe(403);
    const leaver = await createAgent(hub, 'leaver@bank.test', undefined, 'supervisor');
    expect(await opens(leaver, sql`update users set disabled = true where id = ${leaver.id}`)).toBe(403);
  });
});

describe('supervisor overview', () => {
  it('counts the queue, the agents and today’s traffic', async () => {
    // A small day on a channel of its own: two customers, three messages in, one reply out, one resolved.
    const sink = await startCallbackServer([200]);
    try {
      const branch = await hub.createApiChannel(sink.url);
      await hub.api('PATCH', `/api/v1/channels/${branch.id}`, { name: 'Branch app' });
      const one = await customerWrites(branch, { kind: 'phone', value: '+8613900000101' }, '你好');
      await customerWrites(branch, { kind: 'phone', value: '+8613900000101' }, '在吗');
      const two = await customerWrites(branch, { kind: 'phone', value: '+8613900000102' }, '查询余额');
      // More room for agent A, who takes both when going online again (the lost card stays A's).
      await hub.api('PUT', `/api/v1/agents/${agentA.id}`, { capacity: 3 });
      await hub.api('PUT', `/api/v1/agents/${agentA.id}/presence`, { presence: 'online' });
      await waitFor(async () => (await conversation(one)).assigneeId === agentA.id, 10_000, 'assignment');
      expect((await agentA.api('POST', `/api/v1/conversations/${one}/messages`, { text: '您好' })).status).toBe(202);
      await waitFor(async () => sink.received.length === 1, 10_000, 'the reply');
      expect((await hub.api('POST', `/api/v1/conversations/${two}/resolve`)).status).toBe(200);

      const overview = await supervisor.api('GET', '/api/v1/supervisor/overview?timeZone=Asia/Shanghai');
      expect(overview.status).toBe(200);
      const { queue, agents, today } = overview.body;

      const waiting = (await hub.api('GET', '/api/v1/routing/queue')).body.items as Array<{ teamId: string | null }>;
      expect(queue.waiting).toBe(waiting.length);
      expect(queue.byTeam).toEqual([
        { teamId: null, name: null, waiting: waiting.filter((w) => w.teamId === null).length, longestWaitSeconds: expect.anything() },
        { teamId: cards.id, name: 'Cards', waiting: waiting.filter((w) => w.teamId === cards.id).length, longestWaitSeconds: expect.anything() },
      ].map((line) => (line.waiting ? line : { ...line, longestWaitSeconds: null })));

      const byId = new Map(agents.map((a: any) => [a.userId, a]));
      expect(byId.get(agentA.id)).toMatchObject({ presence: 'online', capacity: 3, activeConversations: 2, teams: [] });
      expect(byId.get(agentB.id)).toMatchObject({ presence: 'online', capacity: 1, activeConversations: 1, teams: [{ id: cards.id, name: 'Cards' }] });
      expect(byId.has(supervisor.id)).toBe(false);

      const shanghaiMidnight = new Date(`${new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10)}T00:00:00+08:00`);
      expect(today).toMatchObject({ timeZone: 'Asia/Shanghai', since: shanghaiMidnight.toISOString() });
      expect(today.byChannel.find((c: any) => c.channelId === branch.id)).toEqual({
        channelId: branch.id,
        name: 'Branch app',
        type: 'api',
        inbound: 3,
        outbound: 1,
        conversationsOpened: 2,
      });
      const all = (await list(hub, 'view=all&limit=200')).items;
      expect(today.opened).toBe(all.length);
      expect(today.resolved).toBe(all.filter((c) => c.status === 'resolved').length);
      // The second branch customer's and the app customer's (the stolen card was reopened).
      expect(today.resolved).toBe(2);
      // Notes are not traffic: the first channel carried the customers' messages and A's one reply.
      const main = today.byChannel.find((c: any) => c.channelId === channel.id);
      expect(main).toMatchObject({ outbound: 1, conversationsOpened: 3 });
    } finally {
      await sink.close();
    }
  });

  it('is for admins and supervisors, in a real time zone', async () => {
    expect((await agentA.api('GET', '/api/v1/supervisor/overview')).status).toBe(403);
    expect((await hub.api('GET', '/api/v1/supervisor/overview?timeZone=Mars/Olympus')).status).toBe(400);
    const serverZone = await hub.api('GET', '/api/v1/supervisor/overview');
    expect(serverZone.body.today.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});

describe('channel health', () => {
  it('shows when a channel last heard from its provider and its latest error', async () => {
    const refusing = await startCallbackServer([400]);
    try {
      const broken = await hub.createApiChannel(refusing.url);
      const quiet = await hub.createApiChannel(refusing.url);
      const before = Date.now();
      const id = await customerWrites(broken, { kind: 'phone', value: '+8613900000201' }, '你好');
      await hub.api('PUT', `/api/v1/agents/${agentA.id}`, { capacity: 5 });
      await waitFor(async () => (await conversation(id)).assigneeId === agentA.id, 10_000, 'assignment');
      const reply = await agentA.api('POST', `/api/v1/conversations/${id}/messages`, { text: '您好' });
      await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status === 'failed', 10_000, 'the failed send');

      const health = async () => new Map(((await hub.api('GET', '/api/v1/channels')).body.items as any[]).map((c) => [c.id, c]));
      let channels = await health();
      expect(channels.get(quiet.id)).toMatchObject({ lastInboundAt: null, lastError: null });
      const row = channels.get(broken.id);
      expect(new Date(row.lastInboundAt).getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(row.lastError).toMatchObject({ source: 'outbound', code: 'HTTP_400', messageId: reply.body.id });
      expect(channels.get(channel.id).lastInboundAt).not.toBeNull();

      // A newer dead-lettered event (as processing leaves one it gave up on) is the latest error.
      await hub.runtime.database.query(
        sql`insert into inbound_events (channel_id, dedupe_key, payload, status, attempts, error, received_at)
            values (${broken.id}, 'broken-1', '{}', 'dead', 8, 'unparseable payload', now() + interval '1 second')`,
      );
      channels = await health();
      expect(channels.get(broken.id).lastError).toMatchObject({ source: 'inbound', code: 'dead_letter', message: 'unparseable payload' });
      expect((await agentA.api('GET', '/api/v1/channels')).status).toBe(403);
    } finally {
      await refusing.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents the new endpoints with their roles and filters', async () => {
    const doc = (await fetch(`${hub.baseUrl}/api/openapi.json`).then((r) => r.json())) as any;
    const list = doc.paths['/api/v1/conversations'].get;
    expect(list.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['view', 'teamId', 'priority', 'channelId', 'status', 'q', 'cursor']));
    expect(doc.paths['/api/v1/conversations/{id}/notes'].post.description).toContain('Roles: admin, supervisor, agent.');
    expect(doc.paths['/api/v1/supervisor/overview'].get.description).toContain('Roles: admin, supervisor.');
    expect(doc.paths['/api/v1/supervisor/overview'].get.parameters.map((p: any) => p.name)).toEqual(['timeZone']);
  });
});
