import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { runHub, type HubProcess } from './support/hub-process.js';
import { createAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';
import { signBody } from '../adapters/api/api.adapter.js';

// Issue #23: with several processes, customers were told a worse place in the queue than before.

const running: HubProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await proc.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const customers = 240;
const urgent = 4;

interface Notice {
  messageId: string;
  conversationId: string;
  position: number;
  reason: string;
}

/**
 * A burst of new customers on an API channel posted across `hubs` hub processes while `workers`
 * more processes run jobs, nobody online, so everyone waits; then customers with a higher
 * priority arrive; then two agents with five seats each come online. Notices are switched off
 * around the last two changes, so each is seen whole and the expected notices do not depend on
 * how fast the processes are. Returns every queue notice the bank's system received, in order.
 */
async function runScenario(hubs: number, workers: number) {
  const callback = await startCallbackServer();
  cleanups.push(callback.close);
  const setup: TestHub = await startTestHub({ workers: false, queueNotices: true, overrides: { LOG_LEVEL: 'warn' } });
  cleanups.push(setup.close);
  const channel = await setup.createApiChannel(callback.url);
  const settings = (body: unknown) => setup.api('PATCH', '/api/v1/routing/settings', body);
  // Every change of three places or more is told at once: a wrong place told at joining would
  // be corrected within a sweep.
  expect((await settings({ queueNotice: { minIntervalSeconds: 0, minPositionChange: 3 } })).status).toBe(200);
  const rule = await setup.api('POST', '/api/v1/routing/rules', { name: 'Lost cards', conditions: { keywords: ['挂失'] }, actions: { priority: 3 } });
  expect(rule.status).toBe(201);
  const agents = await Promise.all(
    ['a', 'b'].map((name) => createAgent(setup, `${name}@bank.test`, { capacity: 5, languages: ['zh', 'en'] })),
  );

  const env = { ...setup.env, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1' };
  const procs = [
    ...Array.from({ length: hubs }, () => runHub(['start'], env)),
    ...Array.from({ length: workers }, () => runHub(['worker'], env)),
  ];
  running.push(...procs);
  const ports = await Promise.all(
    procs.slice(0, hubs).map(async (proc) => {
      await proc.waitForOutput(/hub listening on http:\/\/[^:]+:\d+/, 60_000);
      return Number(/hub listening on http:\/\/[^:]+:(\d+)/.exec(proc.output())![1]);
    }),
  );
  await Promise.all(procs.slice(hubs).map((proc) => proc.waitForOutput(/hub worker running/, 60_000)));

  let posted = 0;
  const post = async (n: number, text: string) => {
    const raw = JSON.stringify({ messageId: `m-${n}`, from: { kind: 'phone', value: `+86139${String(n).padStart(8, '0')}` }, text });
    const response = await fetch(`http://127.0.0.1:${ports[n % ports.length]}/webhooks/api/${channel.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(channel.secret, raw) },
      body: raw,
    });
    expect(response.status).toBe(200);
    posted++;
  };
  const db = setup.runtime.database;
  const count = async (query: ReturnType<typeof sql>) => (await db.query<{ n: number }>(query))[0]!.n;
  const notices = (): Notice[] =>
    callback.received
      .map((r) => JSON.parse(r.body))
      .filter((b) => b.payload?.queueNotice)
      .map((b) => ({ messageId: b.messageId, conversationId: b.conversationId, ...b.payload.queueNotice }));
  const settle = async (expected: number, what: string) => {
    await waitFor(async () => notices().length >= expected, 30_000, what);
    // Several sweeps more: a place told wrong would be corrected by now.
    await new Promise((r) => setTimeout(r, 1_500));
  };

  // The burst: 40 customers at a time, across the hub processes.
  const started = Date.now();
  for (let n = 0; n < customers; n += 40) {
    await Promise.all(Array.from({ length: Math.min(40, customers - n) }, (_, i) => post(n + i, '我想问一下信用卡账单')));
  }
  await waitFor(async () => (await count(sql`select count(*)::int as n from conversations where routing_status = 'queued'`)) === customers, 30_000, 'everyone queued');
  await settle(customers, 'a notice for everyone');
  const burstMs = Date.now() - started;
  // Customers told more than once while nothing but joining happened (corrections).
  const toldTwiceInBurst = [...byCustomer(notices()).values()].filter((list) => list.length > 1).length;

  // Customers with a higher priority join ahead of everyone.
  expect((await settings({ queueNotice: { enabled: false } })).status).toBe(200);
  for (let n = 0; n < urgent; n++) await post(customers + n, '挂失我的卡');
  await waitFor(
    async () => (await count(sql`select count(*)::int as n from conversations where routing_status = 'queued' and priority = 3`)) === urgent,
    15_000,
    'the urgent customers queued',
  );
  expect((await settings({ queueNotice: { enabled: true } })).status).toBe(200);
  await settle(2 * customers + urgent, 'the placed-ahead notices');

  // Two agents with five seats each come online and take ten.
  expect((await settings({ queueNotice: { enabled: false } })).status).toBe(200);
  for (const agent of agents) expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' })).status).toBe(200);
  await waitFor(async () => (await count(sql`select count(*)::int as n from conversations where routing_status = 'assigned'`)) === 10, 15_000, 'ten assigned');
  expect((await settings({ queueNotice: { enabled: true } })).status).toBe(200);
  await settle(3 * customers + urgent - 6, 'the moved notices');

  const received = notices();
  const times = new Map(
    (
      await db.query<{ id: string; at: string }>(
        sql`select id, (extract(epoch from created_at) * 1000000)::bigint::text as at from messages where payload ? 'queueNotice'`,
      )
    ).map((m) => [m.id, BigInt(m.at)]),
  );
  const urgentJoined = (
    await db.query<{ at: string }>(sql`select (extract(epoch from queued_at) * 1000000)::bigint::text as at from conversations where priority = 3`)
  ).map((c) => BigInt(c.at));
  return { received, times, urgentJoined, posted, burstMs, toldTwiceInBurst };
}

/** Per customer, in the order the bank's system received them. */
function byCustomer(notices: Notice[]) {
  const map = new Map<string, Notice[]>();
  for (const notice of notices) map.set(notice.conversationId, [...(map.get(notice.conversationId) ?? []), notice]);
  return map;
}

/** Notices telling a worse place, and those of them with no higher-priority customer joining between. */
function worsePlaces(run: Awaited<ReturnType<typeof runScenario>>) {
  const worse: [Notice, Notice][] = [];
  for (const list of byCustomer(run.received).values()) {
    for (let i = 1; i < list.length; i++) if (list[i]!.position > list[i - 1]!.position) worse.push([list[i - 1]!, list[i]!]);
  }
  const unexplained = worse.filter(([before, after]) => {
    const from = run.times.get(before.messageId)!;
    const to = run.times.get(after.messageId)!;
    return !run.urgentJoined.some((at) => at > from && at < to) || after.reason !== 'placed_ahead';
  });
  const noUrgentBetween = worse.filter(([before, after]) => {
    const from = run.times.get(before.messageId)!;
    const to = run.times.get(after.messageId)!;
    return !run.urgentJoined.some((at) => at > from && at < to);
  });
  return { worse, unexplained, noUrgentBetween };
}

/** How many customers got how many notices: { "1": 10, "3": 200, … }. */
function noticeCounts(notices: Notice[]) {
  const counts: Record<string, number> = {};
  for (const list of byCustomer(notices).values()) counts[list.length] = (counts[list.length] ?? 0) + 1;
  return counts;
}

describe('queue notices with several hub processes and workers on one database', () => {
  it('a place only gets worse when higher-priority customers join, and two hubs with two workers send the notices one process sends', async () => {
    const several = await runScenario(2, 2);
    const severalWorse = worsePlaces(several);
    const severalCounts = noticeCounts(several.received);
    // Cleans up the first run before the second starts.
    for (const proc of running.splice(0)) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();

    const one = await runScenario(1, 0);
    const oneWorse = worsePlaces(one);
    const oneCounts = noticeCounts(one.received);
    console.log(
      JSON.stringify({
        fourProcesses: { notices: several.received.length, perCustomer: severalCounts, worse: severalWorse.worse.length, unexplained: severalWorse.unexplained.length, noUrgentBetween: severalWorse.noUrgentBetween.length, toldTwiceInBurst: several.toldTwiceInBurst, burstMs: several.burstMs },
        oneProcess: { notices: one.received.length, perCustomer: oneCounts, worse: oneWorse.worse.length, unexplained: oneWorse.unexplained.length, noUrgentBetween: oneWorse.noUrgentBetween.length, toldTwiceInBurst: one.toldTwiceInBurst, burstMs: one.burstMs },
      }),
    );

    for (const run of [several, one]) {
      const perCustomer = byCustomer(run.received);
      expect(perCustomer.size).toBe(customers + urgent);
      // Told at joining: everyone's place in the burst, each place once, as the line is in the
      // order the joins committed.
      const joined = [...perCustomer.values()].map((list) => list[0]!).filter((n) => n.reason === 'joined');
      expect(joined).toHaveLength(customers + urgent);
      const burstPlaces = joined.map((n) => n.position).sort((a, b) => a - b);
      expect(new Set(burstPlaces).size).toBeGreaterThanOrEqual(customers);
    }
    expect(several.toldTwiceInBurst).toBe(0);
    expect(one.toldTwiceInBurst).toBe(0);
    expect(severalWorse.unexplained).toEqual([]);
    expect(oneWorse.unexplained).toEqual([]);
    // Each waiting customer was told once that the urgent ones went ahead (four places worse).
    expect(severalWorse.worse.every(([before, after]) => after.position - before.position === urgent)).toBe(true);
    expect(severalWorse.worse).toHaveLength(customers);
    // The same notices per customer, whatever the number of processes (a small tolerance for
    // a sweep catching a change half made).
    const total = (counts: Record<string, number>) => Object.entries(counts).reduce((sum, [k, v]) => sum + Number(k) * v, 0);
    expect(Math.abs(total(severalCounts) - total(oneCounts))).toBeLessThanOrEqual(Math.ceil(customers * 0.01));
    expect(severalCounts).toEqual(oneCounts);
  }, 120_000);
});
