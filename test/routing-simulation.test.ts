import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { startHttpServer } from '../server/http-server.js';
import { createRuntime, startWorkers, type Runtime } from '../server/runtime.js';
import { createAgent, openAgentFeed, type TestAgent } from './support/test-agents.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * Many agents and customers at once, against two hub processes sharing one database and Redis:
 * random presence changes, concurrent arrivals and resolutions. The invariants are checked on
 * what the hub itself records and answers.
 */
let hub: TestHub;
let second: { runtime: Runtime; server: Server; workers: Awaited<ReturnType<typeof startWorkers>>; baseUrl: string };
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub({ queueNotices: true });
  const runtime = await createRuntime(loadConfig(hub.env));
  const workers = await startWorkers(runtime);
  const server = await startHttpServer(runtime, { port: 0, host: '127.0.0.1' });
  second = { runtime, server, workers, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  // The bot answers first and keeps the conversation (short of its handover keywords) until the
  // test hands it over, so each test decides when routing takes over.
  const bot = await hub.api('PATCH', `/api/v1/channels/${channel.id}/bot`, { enabled: true, maxFailures: 10 });
  expect(bot.status).toBe(200);
});
afterAll(async () => {
  if (second) {
    await new Promise<void>((resolve) => {
      second.server.close(() => resolve());
      second.server.closeAllConnections();
    });
    await second.workers.close(5_000);
    await second.runtime.close();
  }
  await callback?.close();
  await hub?.close();
});

const AGENTS = 24;
const CUSTOMERS = 120;
const skillsPool = ['cards', 'loans', 'wealth'];

/** An agent's call, sent to one hub process or the other at random. */
function callVia(agent: TestAgent, method: string, path: string, body?: unknown) {
  const base = Math.random() < 0.5 ? hub.baseUrl : second.baseUrl;
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${agent.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

async function openConversation(phone: string, text: string): Promise<string> {
  const response = await hub.postSigned(channel.id, channel.secret, { messageId: `sim-${phone}`, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id where i.value = ${phone} and c.status <> 'resolved'`,
    );
    return row?.id;
  }, 20_000, `conversation of ${phone}`);
}

type Load = { assignee_id: string; n: number; capacity: number };
const overloaded = async () =>
  hub.runtime.database.query<Load>(sql`
    select c.assignee_id, count(*)::int as n, p.capacity from conversations c join agent_profiles p on p.user_id = c.assignee_id
    where c.routing_status = 'assigned' group by c.assignee_id, p.capacity having count(*) > p.capacity`);

describe('routing simulation', () => {
  it('keeps capacity, single assignment, queue order and progress under random load on two processes', async () => {
    const { runtime } = hub;
    await hub.api('POST', '/api/v1/routing/rules', { name: 'Loans', conditions: { keywords: ['loan', '贷款'] }, actions: { requiredSkills: ['loans'] } });
    const seed = fc.sample(fc.integer(), 1)[0]!;
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

    const agents: TestAgent[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const skills = skillsPool.filter(() => random() < 0.5);
      agents.push(
        await createAgent(hub, `agent${i}@bank.test`, {
          // Every skill has someone, so nobody is left waiting for good.
          skills: i < skillsPool.length ? [skillsPool[i]!, ...skills] : skills,
          languages: ['zh', 'en'],
          capacity: 1 + Math.floor(random() * 3),
        }),
      );
    }
    // Feeds on both processes: each sees assignments made by either.
    const feeds = await Promise.all(agents.slice(0, 4).map((a) => openAgentFeed(hub, a)));

    let violations: Load[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        violations = violations.concat(await overloaded());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const conversationIds: string[] = [];
    const arrivals = (async () => {
      for (let batch = 0; batch < CUSTOMERS / 10; batch++) {
        const ids = await Promise.all(
          Array.from({ length: 10 }, (_, k) => {
            const n = batch * 10 + k;
            return openConversation(`+86139${String(n).padStart(8, '0')}`, n % 4 === 0 ? '我想申请贷款 loan' : '你好，转人工');
          }),
        );
        conversationIds.push(...ids);
        await runtime.events.publish(ids.map((id, k) => ({ type: 'conversation.handover', conversationId: id, priority: k % 5 === 0 ? 2 : 1, reason: 'customer_asked' })));
      }
    })();
    const churn = (async () => {
      for (let round = 0; round < 40; round++) {
        // Six different agents per round: one agent's own calls never race each other.
        const picked = [...agents].sort(() => random() - 0.5).slice(0, 6);
        await Promise.all(
          picked.map(async (agent) => {
            const roll = random();
            if (roll < 0.55) {
              const presence = (['online', 'online', 'busy', 'away', 'offline'] as const)[Math.floor(random() * 5)];
              expect((await callVia(agent, 'PUT', '/api/v1/agents/me/presence', { presence })).status).toBe(200);
            } else {
              const mine = await callVia(agent, 'GET', `/api/v1/conversations?assigneeId=${agent.id}&status=open`);
              const target = mine.body.items.find((c: any) => c.routingStatus === 'assigned');
              if (target) expect((await callVia(agent, 'POST', `/api/v1/conversations/${target.id}/resolve`)).status).toBe(200);
            }
          }),
        );
      }
    })();
    await Promise.all([arrivals, churn]);

    // Everyone comes online and works the queue down: nobody may be left waiting.
    await Promise.all(agents.map((a) => callVia(a, 'PUT', '/api/v1/agents/me/presence', { presence: 'online' })));
    const everAssigned = new Set<string>();
    await waitFor(
      async () => {
        const open = await hub.runtime.database.query<{ id: string; assignee_id: string | null }>(
          sql`select id, assignee_id from conversations where status <> 'resolved' and routing_status is not null`,
        );
        for (const agent of agents) {
          const mine = open.filter((c) => c.assignee_id === agent.id);
          for (const c of mine) {
            everAssigned.add(c.id);
            await callVia(agent, 'POST', `/api/v1/conversations/${c.id}/resolve`);
          }
        }
        return open.length === 0;
      },
      60_000,
      'queue drained',
    );
    sampling = false;
    await sampler;

    expect(violations, 'an agent held more conversations than their capacity').toEqual([]);
    const history = await hub.runtime.database.query<{ conversation_id: string; agent_id: string; assigned_at: Date; ended_at: Date | null }>(
      sql`select conversation_id, agent_id, assigned_at, ended_at from conversation_assignments order by conversation_id, assigned_at`,
    );
    const handled = new Set(history.map((h) => h.conversation_id));
    expect(conversationIds.filter((id) => !handled.has(id)), 'conversations never served').toEqual([]);
    for (let i = 1; i < history.length; i++) {
      const [before, after] = [history[i - 1]!, history[i]!];
      if (before.conversation_id !== after.conversation_id) continue;
      expect(before.ended_at, `conversation ${after.conversation_id} assigned twice at once`).not.toBeNull();
    }
    const drift = await hub.runtime.database.query<{ user_id: string }>(sql`
      select p.user_id from agent_profiles p
      where p.active_count <> (select count(*) from conversations c where c.assignee_id = p.user_id and c.routing_status = 'assigned')`);
    expect(drift, 'load counters that disagree with the assignments').toEqual([]);
    // Feeds live on the first process; half the changes were made on the second.
    for (const [i, feed] of feeds.entries()) {
      const mine = history.filter((h) => h.agent_id === agents[i]!.id).map((h) => h.conversation_id);
      await waitFor(
        async () => mine.every((id) => feed.received.some((m) => m.type === 'conversation.assigned' && m.conversationId === id)),
        10_000,
        `every assignment of agent ${i} on their socket`,
      );
      expect(feed.received.some((m) => m.type === 'queue.changed')).toBe(true);
    }
    for (const feed of feeds) feed.close();
  }, 240_000);

  it('serves the queue in priority order, then by waiting time', async () => {
    const agents = (await hub.api('GET', '/api/v1/agents')).body.items as Array<{ userId: string }>;
    await Promise.all(agents.map((a) => hub.api('PUT', `/api/v1/agents/${a.userId}/presence`, { presence: 'offline' })));
    const solo = await createAgent(hub, 'solo@bank.test', { skills: skillsPool, languages: ['zh'], capacity: 1 });
    const feed = await openAgentFeed(hub, solo);

    const priorities = fc.sample(fc.integer({ min: 0, max: 3 }), 12);
    const queued: Array<{ id: string; priority: number }> = [];
    for (const [i, priority] of priorities.entries()) {
      const id = await openConversation(`+86137${String(i).padStart(8, '0')}`, '你好');
      await hub.runtime.events.publish([{ type: 'conversation.handover', conversationId: id, priority, reason: 'test' }]);
      await waitFor(async () => (await hub.api('GET', `/api/v1/conversations/${id}`)).body.routingStatus === 'queued', 10_000, 'queued');
      queued.push({ id, priority: Math.max(1, priority) });
    }
    // Stable sort: equal priorities keep their arrival order.
    const expected = [...queued].sort((a, b) => b.priority - a.priority).map((q) => q.id);
    expect((await hub.api('GET', '/api/v1/routing/queue')).body.items.map((q: any) => q.id)).toEqual(expected);

    const served: string[] = [];
    await solo.api('PUT', '/api/v1/agents/me/presence', { presence: 'online' });
    for (let i = 0; i < expected.length; i++) {
      const assignment = await feed.next((m) => m.type === 'conversation.assigned' && !served.includes(m.conversationId), 'next assignment');
      served.push(assignment.conversationId);
      expect((await solo.api('POST', `/api/v1/conversations/${assignment.conversationId}/resolve`)).status).toBe(200);
    }
    expect(served).toEqual(expected);
    feed.close();
  });
});
