import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let agent: TestAgent;
let supervisor: TestAgent;

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  agent = await createAgent(hub, 'wang.fang@bank.test', { capacity: 5 });
  supervisor = await createAgent(hub, 'chen.jie@bank.test', undefined, 'supervisor');
  const fast = await hub.api('POST', '/api/v1/sla/policies', {
    name: 'vip-fast',
    firstResponseSeconds: 3,
    nextResponseSeconds: 2,
    resolutionSeconds: 60,
    warnPercent: 50,
    escalation: { raisePriority: 3 },
  });
  expect(fast.status).toBe(201);
  const standard = await hub.api('POST', '/api/v1/sla/policies', { name: 'standard', firstResponseSeconds: 600, isDefault: true });
  expect(standard.status).toBe(201);
  const rule = await hub.api('POST', '/api/v1/routing/rules', { name: 'Frozen cards', conditions: { keywords: ['冻结'] }, actions: { slaPolicy: 'vip-fast' } });
  expect(rule.status).toBe(201);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

async function customerWrites(phone: string, text: string) {
  const response = await hub.postSigned(channel.id, channel.secret, { messageId: `m-${phone}-${Date.now()}-${Math.random()}`, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} order by c.created_at desc limit 1`,
    );
    return row?.id;
  }, 10_000, `conversation of ${phone}`);
}

const slaOf = async (id: string) => (await hub.api('GET', `/api/v1/conversations/${id}/sla`)).body;
const clock = (sla: any, target: string) => sla.clocks.find((c: any) => c.target === target);

describe('SLA clocks end to end', () => {
  it('a frozen-card message unanswered past 3 s warns at half time, breaches on the second once, and raises the priority', async () => {
    const id = await customerWrites('+8613900000001', '我的卡被冻结了');
    const started = await waitFor(async () => clock(await slaOf(id), 'first_response'), 10_000, 'first-response clock');
    expect((await slaOf(id)).policy).toBe('vip-fast');
    expect(new Date(started.dueAt).getTime() - new Date(started.startedAt).getTime()).toBe(3000);

    const breached = await waitFor(async () => {
      const sla = await slaOf(id);
      return sla.events.some((e: any) => e.kind === 'breach') ? sla : undefined;
    }, 10_000, 'breach');
    const breach = breached.events.find((e: any) => e.kind === 'breach');
    expect(breach).toMatchObject({ target: 'first_response', cycle: 1 });
    expect(breach.lateMs).toBeLessThan(1000);
    expect(breached.events.find((e: any) => e.kind === 'warning')).toMatchObject({ target: 'first_response' });
    expect(clock(breached, 'first_response').status).toBe('breached');
    const conversation = (await hub.api('GET', `/api/v1/conversations/${id}`)).body;
    expect(conversation.priority).toBe(3);

    // Late answer: the clock stops, nothing more is recorded.
    await hub.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: agent.id });
    await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    await waitFor(async () => (await hub.api('GET', `/api/v1/conversations/${id}`)).body.assigneeId === agent.id, 10_000, 'assignment');
    const reply = await agent.api('POST', `/api/v1/conversations/${id}/messages`, { text: '您好，马上为您处理' });
    expect(reply.status).toBe(202);
    await waitFor(async () => clock(await slaOf(id), 'first_response').stoppedAt ?? undefined, 10_000, 'first response stopped');
    const breaches = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from sla_events where conversation_id = ${id} and kind = 'breach'`);
    expect(breaches[0]?.n).toBe(1);

    // The customer writes again: the next-response clock runs and the agent meets it.
    await customerWrites('+8613900000001', '还要多久？');
    const next = await waitFor(async () => clock(await slaOf(id), 'next_response'), 10_000, 'next-response clock');
    expect(next.status).toBe('running');
    // A staff note is no answer.
    await agent.api('POST', `/api/v1/conversations/${id}/notes`, { text: '查一下冻结原因' });
    await agent.api('POST', `/api/v1/conversations/${id}/messages`, { text: '已经为您解冻' });
    const met = await waitFor(async () => {
      const c = clock(await slaOf(id), 'next_response');
      return c.stoppedAt ? c : undefined;
    }, 10_000, 'next response met');
    expect(met.status).toBe('met');

    // Resolve stops the resolution clock; reopen starts a new cycle.
    await agent.api('POST', `/api/v1/conversations/${id}/resolve`);
    await waitFor(async () => clock(await slaOf(id), 'resolution').stoppedAt ?? undefined, 10_000, 'resolution stopped');
    await hub.api('POST', `/api/v1/conversations/${id}/reopen`);
    const reopened = await waitFor(async () => {
      const c = clock(await slaOf(id), 'resolution');
      return c.cycle === 2 && !c.stoppedAt ? c : undefined;
    }, 10_000, 'resolution restarted');
    expect(reopened.status).toBe('running');
    await agent.api('POST', `/api/v1/conversations/${id}/resolve`);
  });

  it('fires a breach on time after Redis lost the delayed jobs, thanks to the sweeper', async () => {
    const id = await customerWrites('+8613900000002', '信用卡冻结');
    const started = await waitFor(async () => clock(await slaOf(id), 'first_response'), 10_000, 'first-response clock');
    // Redis loses the delayed jobs (the sweeper may put some back at once).
    await hub.runtime.queues.sla.drain(true);
    const breach = await waitFor(async () => (await slaOf(id)).events.find((e: any) => e.kind === 'breach'), 10_000, 'breach after the flush');
    expect(new Date(breach.dueAt).toISOString()).toBe(new Date(started.dueAt).toISOString());
    // The sweeper runs every 500 ms in tests and re-adds due timers ahead of time.
    expect(breach.lateMs).toBeLessThan(1000);
  });

  it('agents read the SLA of their own conversations only; supervisors read any', async () => {
    const id = await customerWrites('+8613900000003', '查询余额');
    await waitFor(async () => clock(await slaOf(id), 'first_response'), 10_000, 'default policy clock');
    expect((await slaOf(id)).policy).toBe('standard');
    expect((await supervisor.api('GET', `/api/v1/conversations/${id}/sla`)).status).toBe(200);
    const asAgent = await agent.api('GET', `/api/v1/conversations/${id}/sla`);
    expect([200, 403]).toContain(asAgent.status);
    expect((await agent.api('POST', '/api/v1/sla/policies', { name: 'x', firstResponseSeconds: 1 })).status).toBe(403);
  });
});

describe('CSAT on the customer channel and the service report', () => {
  it('surveys the customer after resolve, records a numbered reply for the agent, and reports it', async () => {
    expect((await hub.api('PATCH', '/api/v1/csat/settings', { enabled: true })).status).toBe(200);
    await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    const id = await customerWrites('+8613900000009', '我想挂失');
    await waitFor(async () => (await hub.api('GET', `/api/v1/conversations/${id}`)).body.assigneeId === agent.id, 10_000, 'assignment');
    await agent.api('POST', `/api/v1/conversations/${id}/messages`, { text: '好的，已挂失' });
    expect((await agent.api('POST', `/api/v1/conversations/${id}/resolve`)).status).toBe(200);

    const survey = await waitFor(
      async () => callback.received.map((r) => JSON.parse(r.body)).find((b) => b.conversationId === id && b.payload?.csat),
      10_000,
      'survey at the bank system',
    );
    expect(survey.text).toContain('1–5');
    expect(survey.to).toMatchObject({ kind: 'phone' });

    await customerWrites('+8613900000009', '5 很满意');
    const answered = await waitFor(async () => {
      const csat = (await slaOf(id)).csat;
      return csat?.rating ? csat : undefined;
    }, 10_000, 'rating');
    expect(answered).toMatchObject({ rating: 5, comment: '很满意', agentId: agent.id });
    // The answer opened no conversation left waiting for an agent.
    const waiting = await hub.runtime.database.query<{ open: number }>(
      sql`select count(*)::int as open from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.value = '+8613900000009' and c.status <> 'resolved'`,
    );
    expect(waiting[0]?.open).toBe(0);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const report = await supervisor.api('GET', `/api/v1/reports/service?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&groupBy=agent&agentId=${agent.id}`);
    expect(report.status).toBe(200);
    const row = report.body.items[0];
    // The agent has all four customers' conversations (two taken from the queue on coming online),
    // two resolved, both frozen-card ones breached, and one rating.
    expect(row).toMatchObject({ key: agent.id, conversations: 4, resolved: 2, resolutionRate: 0.5, slaBreaches: 2, csatResponses: 1, csatAverage: 5, csatSatisfied: 1 });
    expect(row.firstResponses).toBe(2);
    expect(row.firstResponseP50Seconds).toBeGreaterThan(0);

    const byDay = await hub.api('GET', `/api/v1/reports/service?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&groupBy=day&timeZone=Asia/Shanghai`);
    const total = byDay.body.items.reduce((sum: number, r: any) => sum + r.conversations, 0);
    // The four and the conversation the rating reply opened (resolved with it).
    expect(total).toBe(5);
    expect(byDay.body.items.reduce((sum: number, r: any) => sum + r.slaBreaches, 0)).toBe(2);

    const csv = await fetch(`${hub.baseUrl}/api/v1/reports/service.csv?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&groupBy=channel`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toMatch(/^key,label,conversations,/);
    expect(lines[1]).toContain(`${channel.id},Core banking,5,`);
  });
});
