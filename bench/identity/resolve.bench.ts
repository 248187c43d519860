/**
 * Resolution of an inbound sender against 1,000,000 contacts with 3 identities each.
 * Loads the data set-based into a database of its own, then times the lookups the inbound
 * pipeline makes. Run with `npm run bench:identity`; BENCH_CONTACTS and BENCH_LOOKUPS scale it.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { findIdentity } from '../../core/contacts/identity-links.js';
import { resolveSender } from '../../core/contacts/resolve-contact.js';
import { openDatabase } from '../../core/db/client.js';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const contactCount = Number(process.env.BENCH_CONTACTS ?? 1_000_000);
const lookups = Number(process.env.BENCH_LOOKUPS ?? 20_000);
const channelId = '00000000-0000-4000-8000-00000000be01';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarize(name: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
  return `${name}: n=${sorted.length} p50=${fmt(percentile(sorted, 50))} p95=${fmt(percentile(sorted, 95))} p99=${fmt(percentile(sorted, 99))} max=${fmt(sorted.at(-1)!)}`;
}

/** One of the three identities of a random contact, as a channel would report it. */
function randomSender(): { kind: 'phone' | 'email' | 'wechat_openid'; value: string; scoped?: boolean } {
  const n = 1 + Math.floor(Math.random() * contactCount);
  switch (n % 3) {
    case 0:
      return { kind: 'phone', value: `+86139${String(n).padStart(8, '0')}` };
    case 1:
      return { kind: 'email', value: `customer${n}@bank.test` };
    default:
      return { kind: 'wechat_openid', value: `o${String(n).padStart(27, '0')}`, scoped: true };
  }
}

async function main() {
  const name = `hub_bench_identity_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '.', poolSize: 1 });
  try {
    await database.migrate();
    const started = performance.now();
    await database.query(sql`insert into channels (id, type, name) values (${channelId}, 'api', 'bench')`);
    await database.query(sql`
      insert into contacts (id, name)
      select md5('contact' || g)::uuid, 'Customer ' || g from generate_series(1, ${contactCount}::int) g`);
    await database.query(sql`
      insert into contact_identities (contact_id, kind, scope, value, verified, source)
      select md5('contact' || g)::uuid, 'phone', '', '+86139' || lpad(g::text, 8, '0'), true, 'bench' from generate_series(1, ${contactCount}::int) g
      union all
      select md5('contact' || g)::uuid, 'email', '', 'customer' || g || '@bank.test', false, 'bench' from generate_series(1, ${contactCount}::int) g
      union all
      select md5('contact' || g)::uuid, 'wechat_openid', ${channelId}, 'o' || lpad(g::text, 27, '0'), true, 'bench' from generate_series(1, ${contactCount}::int) g`);
    await database.query(sql`analyze contacts`);
    await database.query(sql`analyze contact_identities`);
    const [counts] = await database.query<{ contacts: number; identities: number }>(
      sql`select (select count(*)::int from contacts) as contacts, (select count(*)::int from contact_identities) as identities`,
    );
    const loadSeconds = ((performance.now() - started) / 1000).toFixed(1);

    const db = database.db;
    for (let i = 0; i < 1_000; i++) {
      const s = randomSender();
      await findIdentity(db, { kind: s.kind, scope: s.scoped ? channelId : '', value: s.value });
    }
    const lookupTimes: number[] = [];
    for (let i = 0; i < lookups; i++) {
      const s = randomSender();
      const t0 = performance.now();
      const found = await findIdentity(db, { kind: s.kind, scope: s.scoped ? channelId : '', value: s.value });
      lookupTimes.push(performance.now() - t0);
      if (!found) throw new Error(`identity ${s.kind} ${s.value} not found`);
    }
    // Timed by the server itself: on a shared machine the client's scheduling adds noise that is not the database's.
    const serverTimes: number[] = [];
    for (let i = 0; i < lookups; i++) {
      const s = randomSender();
      const [row] = await database.query<{ 'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }> }>(
        sql`explain (analyze, format json) select id, contact_id, verified from contact_identities
            where kind = ${s.kind} and scope = ${s.scoped ? channelId : ''} and value = ${s.value}`,
      );
      const timing = row!['QUERY PLAN'][0]!;
      serverTimes.push(timing['Planning Time'] + timing['Execution Time']);
    }
    const resolveTimes: number[] = [];
    for (let i = 0; i < lookups / 4; i++) {
      const s = randomSender();
      const t0 = performance.now();
      await db.transaction((tx) => resolveSender(tx, { ...s, verified: true }, channelId, 'bench'));
      resolveTimes.push(performance.now() - t0);
    }
    const [plan] = await database.query<{ 'QUERY PLAN': string }>(
      sql`explain select id, contact_id, verified from contact_identities where kind = 'phone' and scope = '' and value = '+8613900000042'`,
    );
    const lines = [
      `data: ${counts!.contacts} contacts, ${counts!.identities} identities, loaded in ${loadSeconds} s`,
      summarize('identity lookup at the database (planning + execution, EXPLAIN ANALYZE)', serverTimes),
      summarize('identity lookup, client round trip', lookupTimes),
      summarize('resolveSender in its own transaction (begin, lookup, commit)', resolveTimes),
      `plan: ${plan!['QUERY PLAN']}`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  }
}

await main();
