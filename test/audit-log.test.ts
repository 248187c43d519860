import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit, verifyAuditChain } from '../core/audit.js';
import { migrationsFolder, openDatabase } from '../core/db/client.js';
import { createApiToken, createUser } from '../core/users/users.js';
import { startCallbackServer } from './support/callback-server.js';
import { createTestDatabase } from './support/databases.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * The audit log over HTTP: entries for what admins and agents do, with the client's address,
 * filtered and paged for admins; a hash chain that `GET /audit/verify` walks; no way to change
 * an entry through the API, and the database refusing it in SQL.
 */
let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
const password = 'correct horse battery staple';

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer();
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

/** The database's message for a statement that failed (drizzle wraps it as the cause). */
const refusal = (statement: Promise<unknown>) =>
  statement.then(
    () => 'no error',
    (error: Error & { cause?: Error }) => error.cause?.message ?? error.message,
  );

const audit = async (query: string) => {
  const response = await hub.api('GET', `/api/v1/audit${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { items: any[]; nextCursor: string | null };
};

describe('the audit log API', () => {
  it('records a channel change with who, when, what and the client address', async () => {
    const channel = await hub.createApiChannel(callback.url);
    const renamed = await hub.api('PATCH', `/api/v1/channels/${channel.id}`, { name: 'Core banking (prod)' }, { 'x-forwarded-for': '198.51.100.7' });
    expect(renamed.status).toBe(200);
    const { items } = await audit(`?targetType=channel&targetId=${channel.id}`);
    expect(items.map((e) => e.action)).toEqual(['channel.update', 'channel.create']);
    const [update, create] = items;
    expect(update).toMatchObject({ actor: { email: 'admin@bank.test' }, targetType: 'channel', targetId: channel.id, ip: '198.51.100.7' });
    expect(create.ip).toMatch(/127\.0\.0\.1/);
    expect(create.details).toMatchObject({ type: 'api', secretFields: ['secret'] });
    expect(JSON.stringify(create.details)).not.toContain(channel.secret);
    expect(update.seq).toBeGreaterThan(create.seq);
    expect(update.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(update.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('records a merge of two contacts', async () => {
    const channel = await hub.createApiChannel(callback.url);
    await hub.postSigned(channel.id, channel.secret, { messageId: 'a-1', from: { kind: 'phone', value: '13800138011' }, text: 'one' });
    await hub.postSigned(channel.id, channel.secret, { messageId: 'a-2', from: { kind: 'email', value: 'zhao@customer.test' }, text: 'two' });
    const contacts = await waitFor(async () => {
      const { body } = await hub.api('GET', '/api/v1/contacts');
      return body.items.length >= 2 ? body.items : undefined;
    });
    const merged = await hub.api('POST', '/api/v1/contacts/merge', { survivorId: contacts[0].id, mergedId: contacts[1].id });
    expect(merged.status).toBe(201);
    const { items } = await audit('?action=contact.merge');
    expect(items[0]).toMatchObject({ action: 'contact.merge', actor: { email: 'admin@bank.test' } });
    expect(items[0].ip).toMatch(/127\.0\.0\.1/);
  });

  it('records sign-ins, failed ones included, with the address they came from', async () => {
    const user = await createUser(hub.runtime.database.db, null, { email: 'li@bank.test', name: 'Li', role: 'agent', password });
    const signIn = (pass: string) =>
      fetch(`${hub.baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.40' },
        body: JSON.stringify({ email: 'li@bank.test', password: pass }),
      });
    expect((await signIn('wrong password here')).status).toBe(401);
    expect((await signIn(password)).status).toBe(200);
    const { items } = await audit(`?action=auth.sign_in&targetId=${user.id}`);
    expect(items.map((e) => e.action)).toEqual(['auth.sign_in', 'auth.sign_in_failed']);
    expect(items.every((e) => e.ip === '203.0.113.40')).toBe(true);
    const byActor = await audit(`?actorId=${user.id}`);
    expect(byActor.items.map((e) => e.action)).toContain('auth.sign_in');
  });

  it('filters by time and pages newest first', async () => {
    for (const name of ['Cards', 'Loans', 'Wealth']) expect((await hub.api('POST', '/api/v1/teams', { name })).status).toBe(201);
    const all = await audit('?action=team.');
    expect(all.items.map((e) => e.details.name)).toEqual(['Wealth', 'Loans', 'Cards']);
    const first = await audit('?action=team.&limit=2');
    expect(first.items).toHaveLength(2);
    const second = await audit(`?action=team.&limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((e) => e.details.name)).toEqual(['Cards']);
    expect(second.nextCursor).toBeNull();
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await audit(`?action=team.&from=${encodeURIComponent(future)}`)).items).toEqual([]);
    expect((await audit(`?action=team.&to=${encodeURIComponent(future)}`)).items).toHaveLength(3);
    const forged = await hub.api('GET', `/api/v1/audit?cursor=${Buffer.from(JSON.stringify(["1 or 1=1"])).toString('base64url')}`);
    expect(forged.status).toBe(400);
  });

  it('is for admins only, and no route changes or removes an entry', async () => {
    await createUser(hub.runtime.database.db, null, { email: 'sup@bank.test', role: 'supervisor' });
    const { token } = await createApiToken(hub.runtime.database.db, null, 'sup@bank.test', 'tests');
    const asSupervisor = await fetch(`${hub.baseUrl}/api/v1/audit`, { headers: { authorization: `Bearer ${token}` } });
    expect(asSupervisor.status).toBe(403);
    const [entry] = (await audit('?limit=1')).items;
    for (const method of ['PATCH', 'PUT', 'DELETE', 'POST']) {
      for (const target of [`/api/v1/audit/${entry.id}`, '/api/v1/audit']) {
        const response = await hub.api(method, target, method === 'DELETE' ? undefined : { action: 'nothing happened' });
        expect(response.status, `${method} ${target}`).toBe(404);
      }
    }
    const doc = (await hub.api('GET', '/api/openapi.json')).body;
    expect(Object.keys(doc.paths['/api/v1/audit'])).toEqual(['get']);
  });

  it('keeps one linear chain under concurrent appends', async () => {
    const created = await Promise.all(Array.from({ length: 16 }, (_, i) => hub.api('POST', '/api/v1/teams', { name: `Team ${i}` })));
    expect(created.every((r) => r.status === 201)).toBe(true);
    const [{ n, max }] = (await hub.runtime.database.query<{ n: number; max: number }>(sql`select count(*)::int as n, max(seq)::int as max from audit_log`)) as [{ n: number; max: number }];
    expect(max).toBe(n);
    const verdict = await hub.api('GET', '/api/v1/audit/verify');
    expect(verdict.body).toMatchObject({ ok: true, checked: n, head: { seq: n } });
  });

  it('refuses UPDATE, DELETE and TRUNCATE in SQL, even to a superuser', async () => {
    const db = hub.runtime.database;
    expect(await refusal(db.query(sql`update audit_log set action = 'nothing' where seq = 1`))).toMatch(/append-only: UPDATE is refused/);
    expect(await refusal(db.query(sql`delete from audit_log where seq = 1`))).toMatch(/append-only: DELETE is refused/);
    expect(await refusal(db.query(sql`truncate audit_log`))).toMatch(/append-only: TRUNCATE is refused/);
    // An entry written with its own seq and hash is numbered and hashed by the chain all the same.
    await db.query(sql`insert into audit_log (seq, hash, action, target_type) values (1, 'forged', 'test.forged', 'test')`);
    expect((await hub.api('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('reports the first broken link when a row is changed or removed behind its back', async () => {
    // As a superuser who switches the guard off for a moment, in one transaction.
    const tamper = async (statement: string) => {
      const admin = postgres(hub.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
      try {
        await admin.begin(async (tx) => {
          await tx.unsafe('alter table audit_log disable trigger audit_log_append_only');
          await tx.unsafe(statement);
          await tx.unsafe('alter table audit_log enable trigger audit_log_append_only');
        });
      } finally {
        await admin.end();
      }
    };
    const verify = async () => (await hub.api('GET', '/api/v1/audit/verify')).body;
    const [entry] = (await audit('?action=team.create&limit=1')).items;
    const original = JSON.stringify(entry.details).replaceAll("'", "''");

    await tamper(`update audit_log set details = '{"name":"Someone else"}' where seq = ${entry.seq}`);
    expect(await verify()).toMatchObject({ ok: false, checked: entry.seq - 1, brokenAt: { seq: entry.seq, id: entry.id, reason: expect.stringMatching(/changed/) } });

    // Put back as it was, the chain holds again: the hash covers the content, nothing else.
    await tamper(`update audit_log set details = '${original}' where seq = ${entry.seq}`);
    expect((await verify()).ok).toBe(true);

    await tamper(`delete from audit_log where seq = ${entry.seq - 1}`);
    expect(await verify()).toMatchObject({ ok: false, brokenAt: { seq: entry.seq - 1, reason: expect.stringMatching(/missing/) } });
  });
});

describe('the audit chain in the database', () => {
  it('chains the entries written before the migration, in order', async () => {
    // A database at the migration before the chain, with entries in it.
    const created = await createTestDatabase({ empty: true });
    const folder = mkdtempSync(path.join(tmpdir(), 'hub-migrations-'));
    try {
      cpSync(migrationsFolder, folder, { recursive: true });
      const journalFile = path.join(folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
      const chainAt = journal.entries.findIndex((e) => e.tag.endsWith('_audit_chain'));
      writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, chainAt) }));
      const client = postgres(created.url, { max: 1, onnotice: () => {} });
      try {
        await migrate(drizzle(client), { migrationsFolder: folder });
        await client.unsafe(`insert into audit_log (action, target_type, details, created_at) values
          ('team.create', 'team', '{"name":"早"}', now() - interval '2 days'),
          ('team.create', 'team', '{"name":"Late"}', now() - interval '1 day'),
          ('channel.create', 'channel', '{}', now() - interval '3 days')`);
      } finally {
        await client.end();
      }
      const database = await openDatabase({ databaseUrl: created.url, dataDir: '.' });
      try {
        await database.migrate();
        const rows = await database.query<{ seq: number; action: string }>(sql`select seq::int, action from audit_log order by seq`);
        expect(rows.map((r) => r.action)).toEqual(['channel.create', 'team.create', 'team.create']);
        await recordAudit(database.db, { actorUserId: null, action: 'test.after', targetType: 'test', targetId: null });
        expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 4, head: { seq: 4 } });
      } finally {
        await database.close();
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
      await created.drop();
    }
  });

  it('works the same on the embedded database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hub-pglite-audit-'));
    const database = await openDatabase({ dataDir: dir });
    try {
      await database.migrate();
      await recordAudit(database.db, { actorUserId: null, action: 'test.one', targetType: 'test', targetId: '1', ip: '192.0.2.1', details: { 名: 'x' } });
      await recordAudit(database.db, { actorUserId: null, action: 'test.two', targetType: 'test', targetId: '2' });
      expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, checked: 2 });
      expect(await refusal(database.query(sql`delete from audit_log`))).toMatch(/append-only: DELETE is refused/);
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
