import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { signBody } from '../adapters/api/api.adapter.js';
import { startCallbackServer } from './support/callback-server.js';
import { runHub, runHubToEnd, type HubProcess } from './support/hub-process.js';
import { createTestDatabase } from './support/databases.js';
import { clearRedisPrefix, isolatedEnvironment, startTestHub, waitFor } from './support/test-hub.js';

const running: HubProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await proc.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(args: string[], env: Record<string, string>): HubProcess {
  const proc = runHub(args, env);
  running.push(proc);
  return proc;
}

async function listeningPort(proc: HubProcess): Promise<number> {
  // The embedded database's first start (WASM, migrations) takes a while on a loaded machine.
  await proc.waitForOutput(/hub listening on http:\/\/[^:]+:\d+/, 90_000);
  return Number(/hub listening on http:\/\/[^:]+:(\d+)/.exec(proc.output())![1]);
}

describe('the hub as a process', () => {
  it('a bad configuration value stops start-up with one line naming it', async () => {
    const { code, output } = await runHubToEnd(['start'], { PORT: 'eighty' });
    expect(code).toBe(1);
    expect(output.trim()).toMatch(/^hub: invalid configuration: PORT: expected a port number$/);
  });

  it('hub migrate applies the migrations to an empty PostgreSQL database', async () => {
    const empty = await createTestDatabase({ empty: true });
    cleanups.push(empty.drop);
    const migrated = await runHubToEnd(['migrate'], { DATABASE_URL: empty.url, ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    expect(migrated.output.trim()).toBe('migrations applied (postgres)');
    expect(migrated.code).toBe(0);
    const client = postgres(empty.url, { max: 1 });
    cleanups.push(() => client.end({ timeout: 5 }));
    const tables = await client<{ tablename: string }[]>`select tablename from pg_tables where schemaname = 'public' order by 1`;
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining(['api_tokens', 'channels', 'contact_identities', 'contacts', 'conversations', 'inbound_events', 'messages', 'users']),
    );
  });

  it('serves /readyz on the embedded database when no DATABASE_URL is set', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-embedded-'));
    const prefix = `t-embedded-${process.pid}`;
    cleanups.push(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await clearRedisPrefix(prefix);
    });
    const hub = start(['start'], { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', REDIS_PREFIX: prefix, LOG_LEVEL: 'info' });
    const port = await listeningPort(hub);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', redis: 'ok' });
    expect(hub.output()).toContain('"database":"pglite"');

    // A second process must not open the same embedded database files.
    const second = await runHubToEnd(['user', 'create', '--email', 'a@bank.example', '--role', 'admin'], { DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.output.trim()).toMatch(/^hub: the embedded database in .* is in use by process \d+; stop it first/);

    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    const afterStop = await runHubToEnd(['user', 'create', '--email', 'a@bank.example', '--role', 'admin'], { DATA_DIR: dataDir });
    expect(afterStop.output).toMatch(/created admin a@bank\.example/);
  });

  it('bootstraps access from the command line: user create, token create, then the token works', async () => {
    const isolated = await isolatedEnvironment({ LOG_LEVEL: 'warn' });
    cleanups.push(isolated.cleanup);
    const created = await runHubToEnd(
      ['user', 'create', '--email', 'Ops@Bank.Example', '--password', 'correct horse battery', '--role', 'admin'],
      isolated.env,
    );
    expect(created.code).toBe(0);
    expect(created.output).toMatch(/created admin ops@bank\.example/);

    const duplicate = await runHubToEnd(['user', 'create', '--email', 'ops@bank.example', '--role', 'agent'], isolated.env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.output.trim()).toBe('hub: a user with email ops@bank.example already exists');

    const token = await runHubToEnd(['token', 'create', '--email', 'ops@bank.example', '--name', 'ci'], isolated.env);
    expect(token.code).toBe(0);
    const lastLine = token.output.trim().split('\n').at(-1)!;
    expect(lastLine).toMatch(/^hub_[A-Za-z0-9_-]{43}$/);

    const hub = start(['start'], { ...isolated.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const port = await listeningPort(hub);
    const withToken = await fetch(`http://127.0.0.1:${port}/api/v1/channels`, { headers: { authorization: `Bearer ${lastLine}` } });
    expect(withToken.status).toBe(200);
    const withoutToken = await fetch(`http://127.0.0.1:${port}/api/v1/channels`, { headers: { authorization: 'Bearer hub_wrong' } });
    expect(withoutToken.status).toBe(401);
    const withQuery = await fetch(`http://127.0.0.1:${port}/api/v1/channels?access_token=query-secret-1`);
    expect(withQuery.status).toBe(401);
    // Each request gets an access line, without the query string; the token never reaches the logs.
    await waitFor(async () => hub.output().split('"statusCode":401').length === 3, 5_000, 'the access log lines');
    const lines = hub.output().split('\n').filter((line) => line.includes('request completed')).map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, req: expect.objectContaining({ method: 'GET', path: '/api/v1/channels' }), res: { statusCode: 200 } }));
    expect(lines.filter((line) => line.res.statusCode === 401).map((line) => line.level)).toEqual([40, 40]);
    expect(hub.output()).not.toContain(lastLine);
    expect(hub.output()).not.toContain('query-secret-1');
  });

  it('SIGTERM drains a delivery in flight before exiting', async () => {
    const slow = await startCallbackServer([200], 1_500);
    cleanups.push(slow.close);
    const setup = await startTestHub({ workers: false });
    cleanups.push(setup.close);
    const channel = await setup.createApiChannel(slow.url);
    await setup.postSigned(channel.id, channel.secret, { messageId: 'drain-1', from: { kind: 'phone', value: '+8613800000001' }, text: 'hi' });

    const hub = start(['start'], { ...setup.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '10000' });
    await listeningPort(hub);
    const conversation = await waitFor(async () => (await setup.api('GET', '/api/v1/conversations')).body.items[0], 15_000, 'conversation');
    const reply = await setup.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'on its way' });
    await waitFor(async () => slow.arrived() > 0, 15_000, 'the callback request');

    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    // The callback answered after the signal; the worker waited for it and recorded the result.
    expect(slow.received).toHaveLength(1);
    expect((await setup.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status).toBe('sent');
  });

  it('a worker killed mid-processing loses nothing: after restart the message appears exactly once', async () => {
    const hub = await startTestHub({ workers: false });
    cleanups.push(hub.close);
    const channel = await hub.createApiChannel('http://127.0.0.1:9/unused');
    const ack = await hub.postSigned(channel.id, channel.secret, {
      messageId: 'crash-1',
      from: { kind: 'phone', value: '+8613800000002' },
      text: '挂失我的卡',
    });
    expect(ack.status).toBe(200);

    // Hold the event's row lock so the worker blocks inside its transaction, then kill it there.
    const blocker = postgres(hub.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    cleanups.push(() => blocker.end({ timeout: 5 }));
    const reserved = await blocker.reserve();
    await reserved`begin`;
    await reserved`select id from inbound_events where dedupe_key = 'crash-1' for update`;

    const worker = start(['worker'], { ...hub.env, LOG_LEVEL: 'info' });
    await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ waiting: number }>(
        sql`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and application_name = 'hub' and wait_event_type = 'Lock'`,
      );
      return row!.waiting > 0;
    }, 20_000, 'the worker to block on the event');
    worker.child.kill('SIGKILL');
    await worker.exited;
    // The database notices the dead client within its check interval and cancels the statement.
    await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ waiting: number }>(
        sql`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and application_name = 'hub' and wait_event_type = 'Lock'`,
      );
      return row!.waiting === 0;
    }, 10_000, 'the dead worker\'s statement to be cancelled');
    await reserved`commit`;
    reserved.release();

    const [before] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from messages`);
    expect(before!.n).toBe(0);

    start(['worker'], { ...hub.env, LOG_LEVEL: 'info' });
    const messages = await waitFor(async () => {
      const rows = await hub.runtime.database.query<{ text: string }>(sql`select text from messages`);
      return rows.length > 0 && rows;
    }, 30_000, 'the message after restart');
    // Let the sweeper and the stalled-job check run past the grace period: still exactly one.
    await new Promise((r) => setTimeout(r, 3_000));
    const after = await hub.runtime.database.query<{ text: string }>(sql`select text from messages`);
    expect(messages.map((m) => m.text)).toEqual(['挂失我的卡']);
    expect(after).toHaveLength(1);
    const [event] = await hub.runtime.database.query<{ status: string }>(sql`select status from inbound_events where dedupe_key = 'crash-1'`);
    expect(event!.status).toBe('processed');
  });
});

describe('signatures as the bank computes them', () => {
  it('signBody is HMAC-SHA256 hex of the raw body with a sha256= prefix', () => {
    // Known-answer value computed independently (RFC 4231 style key/body).
    expect(signBody('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });
});
