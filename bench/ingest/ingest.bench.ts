/**
 * Ingest benchmark: drives the API-channel webhook of a real `hub start` (PostgreSQL + Redis)
 * with 50 connections for 10 s and reports acknowledged requests/s, acknowledgement latency, and
 * end-to-end stored messages/s (acknowledged → stored in a conversation).
 *
 *   npm run bench:ingest                      # against postgres://postgres@127.0.0.1:5432
 *   BENCH_DATABASE_URL=... BENCH_DURATION=30 npm run bench:ingest
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { signBody } from '../../adapters/api/api.adapter.js';
import { openDatabase } from '../../core/db/client.js';
import { createApiToken, createUser } from '../../core/users/users.js';
import { queueNames } from '../../workflows/queues.js';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const senders = Number(process.env.BENCH_SENDERS ?? 5_000);
const port = 3900 + Math.floor(Math.random() * 90);
const run = randomBytes(4).toString('hex');
const dbName = `hub_bench_ingest_${run}`;
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const prefix = `bench-${run}`;

async function admin(statement: string) {
  const client = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(statement);
  } finally {
    await client.end();
  }
}

async function main() {
  await admin(`create database ${dbName}`);
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '.', poolSize: 4 });
  await database.migrate();
  const user = await createUser(database.db, null, { email: 'bench@bank.test', role: 'admin' });
  const { token } = await createApiToken(database.db, null, user.email, 'bench');

  // The bank system's callback: replies the hub sends (queue notices) land here, answered at once.
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const callbackUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/cb`;

  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the hub under load.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const hub = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL('../../bin/hub.js', import.meta.url)), 'start'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: dbUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MIGRATE_ON_START: 'false',
      OUTBOUND_ALLOW_PRIVATE: 'true',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok) break;
      if (i > 200) throw new Error('the hub did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const secret = randomBytes(24).toString('hex');
    const created = await fetch(`${base}/api/v1/channels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'api', name: 'bench', config: { callbackUrl, secret } }),
    });
    const channelId = ((await created.json()) as { id: string }).id;

    let sequence = 0;
    const started = Date.now();
    const result = await autocannon({
      url: base,
      connections,
      duration,
      requests: [
        {
          method: 'POST',
          path: `/webhooks/api/${channelId}`,
          setupRequest: (request) => {
            const n = sequence++;
            const body = JSON.stringify({
              messageId: `bench-${run}-${n}`,
              from: { kind: 'external_id', value: `CUST-${n % senders}` },
              text: `我想查询信用卡账单 #${n}`,
            });
            return {
              ...request,
              headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(secret, body) },
              body,
            };
          },
        },
      ],
    });
    const loadEnded = Date.now();
    const acknowledged = result['2xx'];

    let stored = 0;
    let lastStoredAt = loadEnded;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const [row] = await database.query<{ n: number; last: Date }>(
        sql`select count(*)::int as n, max(created_at) as last from messages where direction = 'inbound'`,
      );
      stored = row!.n;
      lastStoredAt = new Date(row!.last).getTime();
      if (stored >= acknowledged) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // The bot, routing and queue notices that the stored messages set off finish after them.
    const queues = Object.values(queueNames).map((name) => new Queue(name, { connection: { url: redisUrl }, prefix }));
    let settledAt = Date.now();
    while (Date.now() < deadline) {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'prioritized')));
      settledAt = Date.now();
      if (counts.every((c) => Object.values(c).every((n) => n === 0))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await Promise.all(queues.map((q) => q.close()));
    const [sent] = await database.query<{ n: number }>(sql`select count(*)::int as n from messages where direction = 'outbound' and status = 'sent'`);
    const [dupes] = await database.query<{ n: number }>(
      sql`select count(*)::int as n from (select inbound_event_id from messages where inbound_event_id is not null group by 1 having count(*) > 1) d`,
    );

    const report = {
      connections,
      durationSeconds: duration,
      acknowledged,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      acknowledgedPerSecond: Math.round(acknowledged / duration),
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      storedInbound: stored,
      outboundSent: sent!.n,
      duplicates: dupes!.n,
      endToEndMessagesPerSecond: Math.round(stored / ((lastStoredAt - started) / 1000)),
      drainSecondsAfterLoad: Math.round((lastStoredAt - loadEnded) / 100) / 10,
      downstreamSettledSecondsAfterLoad: Math.round((settledAt - loadEnded) / 100) / 10,
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    sink.close();
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
    await database.close();
    await admin(`drop database if exists ${dbName} with (force)`);
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

await main();
