import { sql } from 'drizzle-orm';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markHandedOver } from '../core/routing/routing-actions.js';
import { createAgent, openAgentFeed, type TestAgent } from './support/test-agents.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub({ queueNotices: true });
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  // The bot answers first and keeps the conversation (short of its handover keywords) until the
  // test hands it over, so each test decides when routing takes over.
  const bot = await hub.api('PATCH', `/api/v1/channels/${channel.id}/bot`, { enabled: true, maxFailures: 10 });
  expect(bot.status).toBe(200);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

/** A customer writes in on the API channel; returns their conversation once it exists. */
async function customerWrites(phone: string, text: string, messageId = `m-${phone}-${Date.now()}`) {
  const response = await hub.postSigned(channel.id, channel.secret, { messageId, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} and c.status <> 'resolved'`,
    );
    return row?.id;
  }, 10_000, `conversation of ${phone}`);
}

/** What the bot does when a person must take over. */
const handOver = (conversationId: string, priority = 1) =>
  hub.runtime.events.publish([{ type: 'conversation.handover', conversationId, priority, reason: 'customer_asked' }]);

const conversation = async (id: string) => (await hub.api('GET', `/api/v1/conversations/${id}`)).body;
const callbacksFor = (conversationId: string) =>
  callback.received.map((r) => JSON.parse(r.body)).filter((b) => b.conversationId === conversationId);

describe('routing end to end', () => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await createAgent(hub, 'li.na@bank.test', { languages: ['zh-CN'], skills: ['cards'], capacity: 2 });
  });

  it('a handed-over conversation waits with nobody online, the customer hears their place, and an agent coming online gets it live', async () => {
    const feed = await openAgentFeed(hub, agent);
    const id = await customerWrites('+8613800000001', '转人工');
    await handOver(id);

    const notice = await waitFor(async () => callbacksFor(id).find((b) => b.payload?.queueNotice), 10_000, 'queue notice at the bank system');
    expect(notice.text).toContain('排第 1 位');
    expect(notice.payload.queueNotice).toEqual({ position: 1, ahead: 0, minutes: expect.any(Number), reason: 'joined' });
    const queue = await hub.api('GET', '/api/v1/routing/queue');
    expect(queue.body.items).toEqual([expect.objectContaining({ id, position: 1 })]);
    expect((await conversation(id)).assigneeId).toBeNull();
    await feed.next((m) => m.type === 'queue.changed' && m.waiting === 1, 'queue length on the socket');

    const online = await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    expect(online.status).toBe(200);
    expect(online.body).toMatchObject({ presence: 'online', activeCount: 1 });
    await feed.next((m) => m.type === 'conversation.assigned' && m.conversationId === id, 'assignment on the socket');
    expect(await conversation(id)).toMatchObject({ assigneeId: agent.id, routingStatus: 'assigned' });
    expect((await hub.api('GET', '/api/v1/routing/queue')).body.items).toEqual([]);

    await customerWrites('+8613800000001', '我的卡丢了');
    const live = await feed.next((m) => m.type === 'message.created' && m.conversationId === id && m.direction === 'inbound', 'new message on the socket');
    const messages = (await hub.api('GET', `/api/v1/conversations/${id}/messages`)).body.items;
    expect(messages.find((m: any) => m.id === live.messageId).text).toBe('我的卡丢了');

    const resolved = await agent.api('POST', `/api/v1/conversations/${id}/resolve`);
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', routingStatus: null });
    await feed.next((m) => m.type === 'conversation.unassigned' && m.conversationId === id && m.reason === 'resolved', 'unassignment');
    expect((await agent.api('GET', '/api/v1/agents/me')).body.activeCount).toBe(0);
    feed.close();
  });

  it('a reopened conversation goes back to its previous agent while they are online', async () => {
    const id = await customerWrites('+8613800000002', 'hello');
    await handOver(id);
    await waitFor(async () => (await conversation(id)).assigneeId === agent.id, 10_000, 'assignment');
    expect((await agent.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
    const reopened = await agent.api('POST', `/api/v1/conversations/${id}/reopen`);
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ status: 'open', assigneeId: agent.id, routingStatus: 'assigned' });
    expect((await agent.api('POST', `/api/v1/conversations/${id}/reopen`)).status).toBe(409);
    expect((await agent.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
  });

  it('an agent going offline returns unanswered conversations to the queue and keeps answered ones', async () => {
    const answered = await customerWrites('+8613800000003', '查余额');
    await handOver(answered);
    const unanswered = await customerWrites('+8613800000004', '查汇率');
    await handOver(unanswered);
    await waitFor(async () => (await conversation(answered)).assigneeId === agent.id && (await conversation(unanswered)).assigneeId === agent.id, 10_000, 'both assigned');
    const reply = await agent.api('POST', `/api/v1/conversations/${answered}/messages`, { text: '您好，请稍等' });
    expect(reply.status).toBe(202);

    expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' })).status).toBe(200);
    expect(await conversation(answered)).toMatchObject({ assigneeId: agent.id, routingStatus: 'assigned' });
    expect(await conversation(unanswered)).toMatchObject({ assigneeId: null, routingStatus: 'queued' });
    const queue = (await hub.api('GET', '/api/v1/routing/queue')).body.items;
    expect(queue.map((q: any) => q.id)).toEqual([unanswered]);

    const colleague = await createAgent(hub, 'wang.fang@bank.test', { languages: ['zh'], capacity: 3 });
    expect((await colleague.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
    expect((await conversation(unanswered)).assigneeId).toBe(colleague.id);
    for (const [who, id] of [[agent, answered], [colleague, unanswered]] as const) {
      expect((await who.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);
    }
    expect((await colleague.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' })).status).toBe(200);
  });

  it('transfers between agents and to a team carry a note; agents cannot move colleagues’ work', async () => {
    const supervisor = await createAgent(hub, 'zhao.lei@bank.test', undefined, 'supervisor');
    const first = await createAgent(hub, 'first@bank.test', { languages: ['zh'], capacity: 1 });
    const second = await createAgent(hub, 'second@bank.test', { languages: ['zh'], capacity: 1 });
    const team = await hub.api('POST', '/api/v1/teams', { name: 'Wealth management' });
    expect(team.status).toBe(201);
    await first.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    const id = await customerWrites('+8613800000005', '理财产品');
    await handOver(id);
    await waitFor(async () => (await conversation(id)).assigneeId === first.id, 10_000, 'assignment to first');

    const stolen = await second.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: second.id });
    expect(stolen.status).toBe(403);
    const offlineTarget = await first.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: second.id, note: 'VIP' });
    expect(offlineTarget.status).toBe(409);
    expect(offlineTarget.body.error).toMatch(/away, offline or has no spare capacity/);
    expect((await first.api('POST', `/api/v1/conversations/${id}/transfer`, {})).status).toBe(400);

    await second.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' });
    const moved = await first.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: second.id, note: '客户想买理财，请跟进' });
    expect(moved.status).toBe(200);
    expect(moved.body.assigneeId).toBe(second.id);
    expect((await first.api('GET', '/api/v1/agents/me')).body.activeCount).toBe(0);

    const toTeam = await supervisor.api('POST', `/api/v1/conversations/${id}/transfer`, { teamId: team.body.id, note: '转财富团队' });
    expect(toTeam.status).toBe(200);
    expect(toTeam.body).toMatchObject({ teamId: team.body.id, routingStatus: 'queued', assigneeId: null });
    const transfers = (await supervisor.api('GET', `/api/v1/conversations/${id}/transfers`)).body.items;
    expect(transfers).toEqual([
      expect.objectContaining({ fromAgentId: first.id, toAgentId: second.id, note: '客户想买理财，请跟进', actorUserId: first.id }),
      expect.objectContaining({ fromAgentId: second.id, toTeamId: team.body.id, note: '转财富团队', actorUserId: supervisor.id }),
    ]);
    // Only a member of the team can take it now: first is online with room but not in the team.
    expect((await conversation(id)).assigneeId).toBeNull();
    await hub.api('PUT', `/api/v1/agents/${first.id}`, { teamIds: [team.body.id] });
    await hub.api('PUT', `/api/v1/agents/${first.id}/presence`, { presence: 'online' });
    expect((await conversation(id)).assigneeId).toBe(first.id);
    const audit = await hub.runtime.database.query<{ action: string }>(
      sql`select action from audit_log where target_id = ${id} order by created_at`,
    );
    expect(audit.map((a) => a.action)).toEqual(['conversation.transfer', 'conversation.reassign']);
  });

  it('rules route by keywords to a team with skills, priority and SLA policy; VIPs jump the queue', async () => {
    const team = await hub.api('POST', '/api/v1/teams', { name: 'Card fraud' });
    const rule = await hub.api('POST', '/api/v1/routing/rules', {
      name: 'Frozen or stolen cards',
      conditions: { keywords: ['冻结', '挂失', '盗刷'] },
      actions: { teamId: team.body.id, requiredSkills: ['fraud'], priority: 3, slaPolicy: 'urgent-5min' },
    });
    expect(rule.status).toBe(201);
    const bad = await hub.api('POST', '/api/v1/routing/rules', { name: 'x', conditions: { timeOfDay: { from: '25:00', to: '08:00' } }, actions: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/timeOfDay.from: expected HH:MM/);
    expect(bad.body.error).toMatch(/at least one action/);

    const normal = await customerWrites('+8613800000006', '想咨询房贷');
    await handOver(normal);
    const fraud = await customerWrites('+8613800000007', '我的卡被盗刷了');
    await handOver(fraud);
    await waitFor(async () => (await conversation(fraud)).routingStatus === 'queued', 10_000, 'fraud queued');
    expect(await conversation(fraud)).toMatchObject({ teamId: team.body.id, requiredSkills: ['fraud'], priority: 3, slaPolicy: 'urgent-5min', routingRuleId: rule.body.id });
    expect(await conversation(normal)).toMatchObject({ teamId: null, requiredSkills: [], priority: 1, slaPolicy: null });

    const later = await customerWrites('+8613800000008', '你好');
    await handOver(later);
    const vipOther = await customerWrites('+8613800000009', '你好');
    // The bank's CRM marks the customer VIP before the bot hands over.
    await hub.runtime.database.query(sql`update contacts set tier = 'vip' where id = (select contact_id from conversations where id = ${vipOther})`);
    await handOver(vipOther);
    await waitFor(async () => (await conversation(vipOther)).routingStatus === 'queued', 10_000, 'vip queued');
    const order = (await hub.api('GET', '/api/v1/routing/queue')).body.items.filter((q: any) => q.teamId === null).map((q: any) => q.id);
    expect(order).toEqual([vipOther, normal, later]);

    const fraudAgent = await createAgent(hub, 'fraud@bank.test', { languages: ['zh'], skills: ['fraud'], teamIds: [team.body.id], capacity: 1 });
    await fraudAgent.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    expect((await conversation(fraud)).assigneeId).toBe(fraudAgent.id);
    expect((await conversation(vipOther)).assigneeId).toBeNull();
  });

  it('a handover whose event was lost is routed by the sweeper, and waiting customers hear of material moves in their language', async () => {
    // Everyone who could serve the general line steps away, so new conversations wait.
    const agents = (await hub.api('GET', '/api/v1/agents')).body.items as Array<{ userId: string }>;
    await Promise.all(agents.map((a) => hub.api('PUT', `/api/v1/agents/${a.userId}/presence`, { presence: 'away' })));
    expect((await hub.api('PATCH', '/api/v1/routing/settings', { queueNotice: { minIntervalSeconds: 0, minPositionChange: 1 } })).status).toBe(200);

    const ahead = await customerWrites('+8613800000010', '你好');
    await handOver(ahead);
    const lost = await customerWrites('+8613800000011', 'I need help with my card');
    await hub.runtime.database.query(sql`update contacts set language = 'en-GB' where id = (select contact_id from conversations where id = ${lost})`);
    // The bot marks the handover in its transaction, but the event never reaches routing.
    await markHandedOver(hub.runtime.database.db, { conversationId: lost, priority: 1 });

    await waitFor(async () => (await conversation(lost)).routingStatus === 'queued', 15_000, 'the sweeper to queue the lost handover');
    const joined = await waitFor(async () => callbacksFor(lost).find((b) => b.payload?.queueNotice), 10_000, 'first notice');
    const ahead1 = (await hub.api('GET', '/api/v1/routing/queue')).body.items.find((q: any) => q.id === lost).position;
    expect(joined.text).toContain(`You are number ${ahead1} in the queue`);

    // A Chinese-speaking agent takes the head of the line, so the English customer moves up one.
    const helper = await createAgent(hub, 'helper@bank.test', { languages: ['zh'], capacity: 1 });
    await helper.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    const taken = (await helper.api('GET', '/api/v1/agents/me')).body;
    expect(taken.activeCount).toBe(1);
    const moved = await waitFor(
      async () => callbacksFor(lost).find((b) => b.payload?.queueNotice?.position === ahead1 - 1),
      10_000,
      'notice of the new place',
    );
    expect(moved.text).toMatch(/^You are number \d+ in the queue/);
    expect((await conversation(lost)).assigneeId).toBeNull();
    await helper.api('PUT', '/api/v1/agents/me/presence', { presence: 'offline' });
  });

  it('the sweeper takes back an unanswered conversation from an agent who went offline as it was assigned', async () => {
    const late = await createAgent(hub, 'late@bank.test', { capacity: 1 });
    const id = await customerWrites('+8613800000012', '请帮我看看这笔扣款');
    const agents = (await hub.api('GET', '/api/v1/agents')).body.items as Array<{ userId: string }>;
    await Promise.all(agents.map((a) => hub.api('PUT', `/api/v1/agents/${a.userId}/presence`, { presence: 'away' })));
    await handOver(id, 3);
    await waitFor(async () => (await conversation(id)).routingStatus === 'queued', 10_000, 'queued');
    await late.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    await waitFor(async () => (await conversation(id)).assigneeId === late.id, 10_000, 'assignment');
    // The outcome of the race: the presence change committed without seeing the new assignment.
    await hub.runtime.database.query(sql`update agent_profiles set presence = 'offline' where user_id = ${late.id}`);
    await waitFor(async () => (await conversation(id)).routingStatus === 'queued', 10_000, 'the conversation back in line');
    expect((await late.api('GET', '/api/v1/agents/me')).body.activeCount).toBe(0);
  });

  it('a team is renamed by an admin, keeping its members, and a taken name or a missing team is refused', async () => {
    const team = (await hub.api('POST', '/api/v1/teams', { name: 'Mortgages' })).body;
    await hub.api('POST', '/api/v1/teams', { name: 'Deposits' });
    const member = await createAgent(hub, 'member@bank.test', { teamIds: [team.id] });

    const renamed = await hub.api('PATCH', `/api/v1/teams/${team.id}`, { name: '  Home loans ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: team.id, name: 'Home loans' });
    expect((await hub.api('GET', '/api/v1/teams')).body.items).toContainEqual(expect.objectContaining({ id: team.id, name: 'Home loans' }));
    expect((await member.api('GET', '/api/v1/agents/me')).body.teamIds).toEqual([team.id]);

    const taken = await hub.api('PATCH', `/api/v1/teams/${team.id}`, { name: 'Deposits' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatch(/Deposits already exists/);
    expect((await hub.api('PATCH', '/api/v1/teams/00000000-0000-4000-8000-000000000000', { name: 'Nobody' })).status).toBe(404);
    expect((await hub.api('PATCH', `/api/v1/teams/${team.id}`, { name: '' })).status).toBe(400);
    expect((await member.api('PATCH', `/api/v1/teams/${team.id}`, { name: 'Mine' })).status).toBe(403);
    const audit = await hub.runtime.database.query<{ action: string; details: unknown }>(
      sql`select action, details from audit_log where target_id = ${team.id} order by created_at`,
    );
    expect(audit).toEqual([
      expect.objectContaining({ action: 'team.create' }),
      { action: 'team.rename', details: { from: 'Mortgages', name: 'Home loans' } },
    ]);
  });

  it('the socket refuses a missing, wrong or reused ticket, and the API refuses bad input with a message', async () => {
    const url = hub.baseUrl.replace('http', 'ws');
    const refused = (path: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(`${url}${path}`);
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => resolve(101));
      });
    expect(await refused('/ws/agent')).toBe(401);
    expect(await refused('/ws/agent?ticket=forged')).toBe(401);
    const { body } = await agent.api('POST', '/api/v1/agents/me/socket-ticket');
    const feed = new WebSocket(`${url}${body.path}`);
    await new Promise((resolve) => feed.once('open', resolve));
    expect(await refused(body.path)).toBe(401);
    feed.close();

    expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'sleeping' })).body.error).toMatch(/presence/);
    expect((await agent.api('PUT', `/api/v1/agents/${agent.id}`, { capacity: 3 })).status).toBe(403);
    const noTeam = await hub.api('PUT', `/api/v1/agents/${agent.id}`, { teamIds: ['00000000-0000-4000-8000-000000000000'] });
    expect(noTeam.status).toBe(400);
    expect(noTeam.body.error).toMatch(/no team/);
    expect((await hub.api('PATCH', '/api/v1/routing/settings', { queueNotice: { texts: { en: 'no placeholder' } } })).status).toBe(400);
    expect((await agent.api('PATCH', '/api/v1/routing/settings', { strategy: 'round_robin' })).status).toBe(403);
  });
});
