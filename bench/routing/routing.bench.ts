/**
 * Routing decision + assignment latency with 500 online agents and 5,000 waiting conversations.
 *
 *   npm run bench:routing            (BENCH_DATABASE_URL to use another server)
 *
 * Creates its own database, seeds it, measures two paths and drops the database:
 * - arrival: a newly queued conversation is matched to the best agent and assigned;
 * - capacity freed: an agent with one free seat takes the best waiting conversation it can serve.
 * After each measured assignment the state is restored outside the measurement, so every sample
 * sees the same load: 500 agents at 4/5 and 5,000 waiting.
 */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, type Db } from '../../core/db/client.js';
import { agentProfiles, contacts, conversations, users } from '../../core/db/schema.js';
import { pullForAgent, releaseAssignment, routableColumns, routeConversation } from '../../core/routing/assign-conversations.js';
import { getRoutingSettings } from '../../core/routing/routing-settings.js';

const AGENTS = 500;
const CAPACITY = 5;
const BUSY_SEATS = 4;
const WAITING = 5_000;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 2_000);
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const skills = ['cards', 'loans', 'wealth', 'insurance'];
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;

async function withAdmin<T>(run: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    return await run(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function waitingConversation(contactId: string) {
  return {
    contactId,
    routingStatus: 'queued' as const,
    queuedAt: new Date(Date.now() - Math.floor(random() * 3_600_000)),
    priority: random() < 0.1 ? 2 : 1,
    requiredSkills: random() < 0.5 ? [pick(skills)] : [],
    routingLanguage: random() < 0.8 ? 'zh' : 'en',
    routingChannelType: 'api',
  };
}

async function insertContacts(db: Db, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const rows = await db.insert(contacts).values(Array.from({ length: Math.min(1000, n - i) }, () => ({}))).returning({ id: contacts.id });
    ids.push(...rows.map((r) => r.id));
  }
  return ids;
}

async function seedState(db: Db) {
  const agentIds: string[] = [];
  for (let i = 0; i < AGENTS; i += 250) {
    const rows = await db
      .insert(users)
      .values(Array.from({ length: 250 }, (_, k) => ({ email: `agent${i + k}@bench.test`, name: `Agent ${i + k}`, role: 'agent' as const })))
      .returning({ id: users.id });
    agentIds.push(...rows.map((r) => r.id));
  }
  await db.insert(agentProfiles).values(
    agentIds.map((userId) => ({
      userId,
      presence: 'online' as const,
      skills: skills.filter(() => random() < 0.6),
      languages: random() < 0.7 ? ['zh', 'en'] : ['zh'],
      capacity: CAPACITY,
      activeCount: BUSY_SEATS,
      channelLoad: { api: BUSY_SEATS },
      lastAssignedAt: new Date(Date.now() - Math.floor(random() * 600_000)),
    })),
  );
  const busyContacts = await insertContacts(db, AGENTS * BUSY_SEATS);
  for (let i = 0; i < busyContacts.length; i += 1000) {
    await db.insert(conversations).values(
      busyContacts.slice(i, i + 1000).map((contactId, k) => ({
        contactId,
        routingStatus: 'assigned' as const,
        assigneeId: agentIds[Math.floor((i + k) / BUSY_SEATS)]!,
        assignedAt: new Date(),
        routingChannelType: 'api',
      })),
    );
  }
  const waitingContacts = await insertContacts(db, WAITING);
  for (let i = 0; i < waitingContacts.length; i += 1000) {
    await db.insert(conversations).values(waitingContacts.slice(i, i + 1000).map(waitingConversation));
  }
  await db.execute(sql`analyze`);
  return agentIds;
}

/** Ends an assignment without pulling a replacement, so the next sample sees the same load. */
async function undoAssignment(db: Db, conversationId: string) {
  await db.transaction(async (tx) => {
    const [conversation] = await tx.select(routableColumns).from(conversations).where(eq(conversations.id, conversationId)).for('update');
    await releaseAssignment(tx, conversation!, 'resolved');
    await tx.update(conversations).set({ status: 'resolved', routingStatus: null }).where(eq(conversations.id, conversationId));
  });
}

function summarize(name: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!.toFixed(2);
  return `| ${name} | ${samples.length} | ${at(0.5)} | ${at(0.95)} | ${at(0.99)} | ${sorted.at(-1)!.toFixed(2)} |`;
}

async function main() {
  const name = `hub_bench_routing_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.unsafe(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '.', poolSize: 10 });
  try {
    await database.migrate();
    const { db } = database;
    const agentIds = await seedState(db);
    const settings = await getRoutingSettings(db);
    const contactPool = await insertContacts(db, SAMPLES * 2);

    const arrival: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const [conversation] = await db.insert(conversations).values(waitingConversation(contactPool[i]!)).returning({ id: conversations.id });
      const started = performance.now();
      const notices = await routeConversation(db, conversation!.id, settings);
      arrival.push(performance.now() - started);
      if (!notices.length) throw new Error('an arrival found no agent although every agent has a free seat');
      await undoAssignment(db, conversation!.id);
    }

    const freed: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const agentId = pick(agentIds);
      const started = performance.now();
      const notices = await pullForAgent(db, agentId);
      freed.push(performance.now() - started);
      const taken = notices.find((n) => n.type === 'conversation.assigned');
      if (!taken || taken.type !== 'conversation.assigned') throw new Error('a freed agent found nothing to take in a queue of 5,000');
      await undoAssignment(db, taken.conversationId);
      await db.insert(conversations).values(waitingConversation(contactPool[SAMPLES + i]!));
    }

    const [{ waiting, online }] = (await database.query<{ waiting: number; online: number }>(
      sql`select (select count(*)::int from conversations where routing_status = 'queued') as waiting,
                 (select count(*)::int from agent_profiles where presence = 'online') as online`,
    )) as [{ waiting: number; online: number }];
    console.log(`routing benchmark: ${online} online agents, ${waiting} waiting conversations, PostgreSQL ${(await database.query<{ v: string }>(sql`select current_setting('server_version') as v`))[0]!.v}`);
    console.log('| path | samples | p50 ms | p95 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|');
    console.log(summarize('arrival: pick agent + assign', arrival));
    console.log(summarize('capacity freed: pick conversation + assign', freed));
  } finally {
    await database.close();
    await withAdmin((admin) => admin.unsafe(`drop database if exists ${name} with (force)`));
  }
}

await main();
