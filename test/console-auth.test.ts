import { createHash } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../core/users/users.js';
import { createTestDatabase } from './support/databases.js';
import { runHubToEnd } from './support/hub-process.js';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ workers: false });
});
afterAll(() => hub?.close());

const password = 'correct horse battery staple';
let addressCounter = 0;
/**
 * Each test signs in from its own client address (the hub trusts X-Forwarded-For from loopback,
 * as behind a local proxy), so failures counted per address in one test do not lock out another.
 */
const newAddress = () => `203.0.113.${++addressCounter}`;

async function newUser(role: 'admin' | 'supervisor' | 'agent' | 'marketer', email: string) {
  return createUser(hub.runtime.database.db, null, { email, name: email.split('@')[0], role, password });
}

interface Session {
  cookie: string;
  csrfToken: string;
  address: string;
}

async function login(email: string, pass: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${hub.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'console-test/1.0', ...headers },
    body: JSON.stringify({ email, password: pass }),
  });
  const setCookie = response.headers.getSetCookie();
  return { status: response.status, body: await response.json(), setCookie, retryAfter: response.headers.get('retry-after') };
}

async function signIn(email: string, pass = password, address = newAddress()): Promise<Session> {
  const answer = await login(email, pass, { 'x-forwarded-for': address });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { cookie: answer.setCookie[0]!.split(';')[0]!, csrfToken: answer.body.csrfToken, address };
}

/** Calls the API as the console does: the cookie always, the CSRF token unless told otherwise. */
async function call(session: Session, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${hub.baseUrl}/api/v1${path}`, {
    method,
    headers: {
      cookie: session.cookie,
      'x-forwarded-for': session.address,
      ...(method === 'GET' ? {} : { 'x-csrf-token': session.csrfToken }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, setCookie: response.headers.getSetCookie() };
}

const attributes = (setCookie: string) => setCookie.split(';').slice(1).map((a) => a.trim().toLowerCase());

describe('signing in', () => {
  it('sets an httpOnly, SameSite=Lax session cookie for the whole hub and answers the user and a CSRF token', async () => {
    const user = await newUser('agent', 'wang.agent@bank.test');
    const answer = await login('Wang.Agent@bank.test', password, { 'x-forwarded-for': '198.51.100.7' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ user: { id: user.id, email: 'wang.agent@bank.test', name: 'wang.agent', role: 'agent' }, csrfToken: expect.any(String) });
    expect(answer.setCookie).toHaveLength(1);
    const [pair, ...rest] = answer.setCookie[0]!.split(';');
    expect(pair).toMatch(/^hub_session=[A-Za-z0-9_-]{40,}$/);
    expect(attributes(answer.setCookie[0]!)).toEqual(expect.arrayContaining(['path=/', 'httponly', 'samesite=lax']));
    // Plain HTTP: a Secure cookie would never come back.
    expect(rest.map((a) => a.trim().toLowerCase())).not.toContain('secure');

    // Only the token's hash is stored, with where and what the sign-in came from.
    const token = pair!.slice('hub_session='.length);
    const [row] = await hub.runtime.database.query<{ token_hash: string; ip: string; user_agent: string; expires_at: Date; created_at: Date }>(
      sql`select token_hash, ip, user_agent, expires_at, created_at from user_sessions where user_id = ${user.id}`,
    );
    expect(row!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(row).toMatchObject({ ip: '198.51.100.7', user_agent: 'console-test/1.0' });
    expect(new Date(row!.expires_at).getTime() - new Date(row!.created_at).getTime()).toBe(12 * 3_600_000);
    const [signedIn] = await hub.runtime.database.query<{ last_sign_in_at: Date | null }>(sql`select last_sign_in_at from users where id = ${user.id}`);
    expect(signedIn!.last_sign_in_at).not.toBeNull();
  });

  it('marks the cookie Secure when the request came over HTTPS through the proxy', async () => {
    await newUser('agent', 'secure.agent@bank.test');
    const answer = await login('secure.agent@bank.test', password, { 'x-forwarded-proto': 'https', 'x-forwarded-for': newAddress() });
    expect(answer.status).toBe(200);
    expect(attributes(answer.setCookie[0]!)).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=lax', 'path=/']));
  });

  it('answers a wrong email and a wrong password alike, and audits both with the address', async () => {
    await newUser('agent', 'zhao.agent@bank.test');
    const address = newAddress();
    const wrongPassword = await login('zhao.agent@bank.test', 'not the password at all', { 'x-forwarded-for': address });
    const wrongEmail = await login('nobody@bank.test', password, { 'x-forwarded-for': address });
    expect(wrongPassword.status).toBe(401);
    expect(wrongEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual({ error: 'wrong email or password', code: 'wrong_credentials' });
    expect(wrongEmail.body).toEqual(wrongPassword.body);
    expect(wrongPassword.setCookie).toEqual([]);

    const audits = await hub.runtime.database.query<{ action: string; details: Record<string, unknown> }>(
      sql`select action, details from audit_log where action = 'auth.sign_in_failed' and details->>'ip' = ${address} order by created_at`,
    );
    expect(audits.map((a) => a.details.email)).toEqual(['zhao.agent@bank.test', 'nobody@bank.test']);
    expect(JSON.stringify(audits)).not.toMatch(/not the password|correct horse/);
  });

  it('refuses a disabled user, even with the right password', async () => {
    const user = await newUser('agent', 'disabled.agent@bank.test');
    expect((await hub.api('PATCH', `/api/v1/users/${user.id}`, { disabled: true })).status).toBe(200);
    const right = await login('disabled.agent@bank.test', password, { 'x-forwarded-for': newAddress() });
    expect(right.status).toBe(403);
    expect(right.body.error).toMatch(/disabled/);
    expect(right.setCookie).toEqual([]);
    const wrong = await login('disabled.agent@bank.test', 'a wrong password here', { 'x-forwarded-for': newAddress() });
    expect(wrong.body.error).toBe('wrong email or password');
  });

  it('refuses a sign-in posted from a page of another site', async () => {
    await newUser('agent', 'origin.agent@bank.test');
    const foreign = await login('origin.agent@bank.test', password, { origin: 'https://evil.example', 'x-forwarded-for': newAddress() });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/evil\.example/);
    const own = await login('origin.agent@bank.test', password, { origin: hub.baseUrl, 'x-forwarded-for': newAddress() });
    expect(own.status).toBe(200);
  });
});

describe('the session cookie on the API', () => {
  it('authenticates reads; changes need the X-CSRF-Token header and the hub’s own origin', async () => {
    const admin = await newUser('admin', 'cookie.admin@bank.test');
    const session = await signIn('cookie.admin@bank.test');

    const me = await call(session, 'GET', '/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: { id: admin.id, email: 'cookie.admin@bank.test', name: 'cookie.admin', role: 'admin' }, csrfToken: session.csrfToken });
    expect((await call(session, 'GET', '/conversations')).status).toBe(200);

    const missing = await call(session, 'POST', '/teams', { name: 'Cards' }, { 'x-csrf-token': '' });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toMatch(/missing X-CSRF-Token/);
    const wrong = await call(session, 'POST', '/teams', { name: 'Cards' }, { 'x-csrf-token': 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toMatch(/wrong X-CSRF-Token/);
    const foreign = await call(session, 'POST', '/teams', { name: 'Cards' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('cross_origin');
    expect((await hub.api('GET', '/api/v1/teams')).body.items).toEqual([]);

    const created = await call(session, 'POST', '/teams', { name: 'Cards' }, { origin: hub.baseUrl });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Cards');
    // Audited as the signed-in user.
    const [audit] = await hub.runtime.database.query<{ actor_user_id: string }>(sql`select actor_user_id from audit_log where action = 'team.create'`);
    expect(audit!.actor_user_id).toBe(admin.id);
  });

  it('prefers a bearer token, which needs no CSRF token', async () => {
    await newUser('agent', 'both.agent@bank.test');
    const session = await signIn('both.agent@bank.test');
    const response = await call(session, 'POST', '/teams', { name: 'Bearer team' }, { authorization: `Bearer ${hub.adminToken}`, 'x-csrf-token': '' });
    expect(response.status).toBe(201);
  });

  it('signing out ends the session and clears the cookie', async () => {
    const user = await newUser('supervisor', 'out.supervisor@bank.test');
    const session = await signIn('out.supervisor@bank.test');
    const out = await call(session, 'POST', '/auth/logout');
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ signedOut: true });
    expect(out.setCookie[0]).toMatch(/^hub_session=;/);
    expect(out.setCookie[0]).toMatch(/expires=Thu, 01 Jan 1970/i);

    const after = await call(session, 'GET', '/auth/me');
    expect(after.status).toBe(401);
    expect(after.body.error).toMatch(/sign in again/);
    const [row] = await hub.runtime.database.query<{ revoked_at: Date | null }>(sql`select revoked_at from user_sessions where user_id = ${user.id}`);
    expect(row!.revoked_at).not.toBeNull();
    const audits = await hub.runtime.database.query<{ action: string }>(sql`select action from audit_log where target_id = ${user.id} order by created_at`);
    expect(audits.map((a) => a.action)).toEqual(['user.create', 'auth.sign_in', 'auth.sign_out']);
  });

  it('GET /auth/session says whether this browser is signed in, without an error for a signed-out one', async () => {
    await newUser('agent', 'session.agent@bank.test');
    const signedOut = await fetch(`${hub.baseUrl}/api/v1/auth/session`);
    expect(signedOut.status).toBe(200);
    expect(await signedOut.json()).toEqual({ user: null, csrfToken: null });

    const session = await signIn('session.agent@bank.test');
    const signedIn = await call(session, 'GET', '/auth/session');
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user).toMatchObject({ email: 'session.agent@bank.test', role: 'agent' });
    expect(signedIn.body.csrfToken).toBe(session.csrfToken);

    await call(session, 'POST', '/auth/logout');
    expect((await call(session, 'GET', '/auth/session')).body.user).toBeNull();
  });

  it('ends a session left idle, and one past its lifetime; use keeps it alive', async () => {
    const user = await newUser('agent', 'idle.agent@bank.test');
    const idle = await signIn('idle.agent@bank.test');
    const busy = await signIn('idle.agent@bank.test');
    const old = await signIn('idle.agent@bank.test');
    const [idleId, busyId, oldId] = await Promise.all(
      [idle, busy, old].map(async (s) => {
        const hash = createHash('sha256').update(s.cookie.split('=')[1]!).digest('hex');
        const [row] = await hub.runtime.database.query<{ id: string }>(sql`select id from user_sessions where token_hash = ${hash}`);
        return row!.id;
      }),
    );
    await hub.runtime.database.query(sql`update user_sessions set last_seen_at = now() - interval '31 minutes' where id = ${idleId}`);
    await hub.runtime.database.query(sql`update user_sessions set last_seen_at = now() - interval '29 minutes' where id = ${busyId}`);
    await hub.runtime.database.query(sql`update user_sessions set expires_at = now() - interval '1 second' where id = ${oldId}`);

    const expired = await call(idle, 'GET', '/auth/me');
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('session_expired');
    // The console's cookie is cleared with the answer.
    expect(expired.setCookie[0]).toMatch(/^hub_session=;/);
    expect((await call(old, 'GET', '/auth/me')).status).toBe(401);

    expect((await call(busy, 'GET', '/auth/me')).status).toBe(200);
    const [seen] = await hub.runtime.database.query<{ idle_seconds: number }>(
      sql`select extract(epoch from now() - last_seen_at)::int as idle_seconds from user_sessions where id = ${busyId}`,
    );
    expect(seen!.idle_seconds).toBeLessThan(10);
    expect(user.id).toBeDefined();
  });

  it('changing your password ends your other sessions and keeps this one', async () => {
    await newUser('agent', 'pw.agent@bank.test');
    const here = await signIn('pw.agent@bank.test');
    const elsewhere = await signIn('pw.agent@bank.test');

    const wrong = await call(here, 'POST', '/auth/password', { currentPassword: 'not my password', newPassword: 'a new long passphrase' });
    expect(wrong.status).toBe(403);
    const short = await call(here, 'POST', '/auth/password', { currentPassword: password, newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(short.body.error).toMatch(/newPassword: password must be at least 12 characters/);
    expect(short.body.error).not.toContain('short"');

    const changed = await call(here, 'POST', '/auth/password', { currentPassword: password, newPassword: 'a new long passphrase' });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ changed: true, otherSessionsRevoked: 1 });
    expect((await call(here, 'GET', '/auth/me')).status).toBe(200);
    expect((await call(elsewhere, 'GET', '/auth/me')).status).toBe(401);
    expect((await login('pw.agent@bank.test', password, { 'x-forwarded-for': newAddress() })).status).toBe(401);
    await signIn('pw.agent@bank.test', 'a new long passphrase');

    const audits = await hub.runtime.database.query<{ details: unknown }>(sql`select details from audit_log where action = 'user.password_change'`);
    expect(audits).toHaveLength(1);
    expect(JSON.stringify(audits)).not.toMatch(/passphrase|correct horse/);
  });
});

describe('brute force', () => {
  it('locks an account after five wrong passwords: 429 with Retry-After, even for the right password, from anywhere', async () => {
    await newUser('agent', 'target.agent@bank.test');
    const address = newAddress();
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      expect((await login('target.agent@bank.test', `guess number ${i}`, { 'x-forwarded-for': address })).status).toBe(401);
    }
    // Later failures answer slower.
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    const fifth = await login('target.agent@bank.test', 'guess number 5', { 'x-forwarded-for': address });
    expect(fifth.status).toBe(429);
    expect(Number(fifth.retryAfter)).toBe(900);
    expect(fifth.body.error).toMatch(/too many failed sign-in attempts; try again in 15 minutes/);

    const right = await login('target.agent@bank.test', password, { 'x-forwarded-for': newAddress() });
    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThan(890);
    expect(right.setCookie).toEqual([]);
    // Other accounts are not affected.
    await newUser('agent', 'bystander.agent@bank.test');
    await signIn('bystander.agent@bank.test');

    // An admin setting a new password lifts the lock.
    const [user] = await hub.runtime.database.query<{ id: string }>(sql`select id from users where email = 'target.agent@bank.test'`);
    expect((await hub.api('POST', `/api/v1/users/${user!.id}/password`, { password: 'reset by the admin 2024' })).status).toBe(200);
    await signIn('target.agent@bank.test', 'reset by the admin 2024');
  });

  it('locks an address after twenty failures, whatever the accounts', async () => {
    await newUser('agent', 'nat.agent@bank.test');
    const address = newAddress();
    for (let i = 0; i < 19; i++) {
      expect((await login(`guess${i}@bank.test`, 'whatever password', { 'x-forwarded-for': address })).status).toBe(401);
    }
    const twentieth = await login('guess19@bank.test', 'whatever password', { 'x-forwarded-for': address });
    expect(twentieth.status).toBe(429);
    const locked = await login('nat.agent@bank.test', password, { 'x-forwarded-for': address });
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(890);
    // The same person from another address is let in.
    await signIn('nat.agent@bank.test', password, newAddress());
  });
});

describe('users admin API', () => {
  it('lists, creates, reads and updates users, never showing password hashes; agents may not', async () => {
    const agentSession = await (async () => {
      await newUser('agent', 'nosy.agent@bank.test');
      return signIn('nosy.agent@bank.test');
    })();
    expect((await call(agentSession, 'GET', '/users')).status).toBe(403);
    expect((await call(agentSession, 'GET', '/api-tokens')).status).toBe(403);
    expect((await call(agentSession, 'POST', '/users', { email: 'x@bank.test', role: 'admin', password })).status).toBe(403);

    const created = await hub.api('POST', '/api/v1/users', { email: 'New.Supervisor@bank.test', name: 'Chen Jing', role: 'supervisor', password: 'a long first password' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      email: 'new.supervisor@bank.test',
      name: 'Chen Jing',
      role: 'supervisor',
      disabled: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastSignInAt: null,
    });
    expect((await hub.api('POST', '/api/v1/users', { email: 'new.supervisor@bank.test', role: 'agent' })).status).toBe(409);
    expect((await hub.api('POST', '/api/v1/users', { email: 'short@bank.test', role: 'agent', password: 'short' })).status).toBe(400);

    const session = await signIn('new.supervisor@bank.test', 'a long first password');
    const listed = await hub.api('GET', '/api/v1/users');
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((u: { id: string }) => u.id === created.body.id)).toMatchObject({ email: 'new.supervisor@bank.test', lastSignInAt: expect.any(String) });
    expect(JSON.stringify(listed.body)).not.toMatch(/argon2|password/i);
    expect((await hub.api('GET', `/api/v1/users/${created.body.id}`)).body.name).toBe('Chen Jing');
    expect((await hub.api('GET', '/api/v1/users/6b0d2d4e-0000-4000-8000-000000000000')).status).toBe(404);

    // A rename keeps the sessions; a new role ends them.
    expect((await hub.api('PATCH', `/api/v1/users/${created.body.id}`, { name: 'Chen Jing (cards)' })).body.name).toBe('Chen Jing (cards)');
    expect((await call(session, 'GET', '/auth/me')).status).toBe(200);
    const demoted = await hub.api('PATCH', `/api/v1/users/${created.body.id}`, { role: 'agent' });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe('agent');
    expect((await call(session, 'GET', '/auth/me')).status).toBe(401);
    const again = await signIn('new.supervisor@bank.test', 'a long first password');
    expect((await call(again, 'GET', '/auth/me')).body.user.role).toBe('agent');

    const actions = await hub.runtime.database.query<{ action: string; details: Record<string, unknown> }>(
      sql`select action, details from audit_log where target_id = ${created.body.id} and action like 'user.%' order by created_at`,
    );
    expect(actions.map((a) => a.action)).toEqual(['user.create', 'user.update', 'user.role_change']);
    expect(actions[2]!.details).toEqual({ from: 'supervisor', to: 'agent', revokedSessions: 1 });
  });

  it('disabling a user ends their sessions and stops their tokens', async () => {
    const user = await newUser('agent', 'leaver.agent@bank.test');
    const session = await signIn('leaver.agent@bank.test');
    const token = await hub.api('POST', '/api/v1/api-tokens', { userId: user.id, name: 'leaver' });
    const disabled = await hub.api('PATCH', `/api/v1/users/${user.id}`, { disabled: true });
    expect(disabled.body.disabled).toBe(true);
    expect((await call(session, 'GET', '/auth/me')).status).toBe(401);
    expect((await hub.api('GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${token.body.token}` })).status).toBe(401);
    expect((await hub.api('POST', '/api/v1/api-tokens', { userId: user.id, name: 'another' })).status).toBe(422);
  });

  it('an admin cannot demote or disable themselves', async () => {
    const admin = await newUser('admin', 'self.admin@bank.test');
    const session = await signIn('self.admin@bank.test');
    const demote = await call(session, 'PATCH', `/users/${admin.id}`, { role: 'agent' });
    expect(demote.status).toBe(409);
    expect(demote.body.error).toMatch(/cannot change your own role or disable yourself/);
    expect((await call(session, 'PATCH', `/users/${admin.id}`, { disabled: true })).status).toBe(409);
    expect((await call(session, 'PATCH', `/users/${admin.id}`, { name: 'Still admin' })).status).toBe(200);
    expect((await call(session, 'GET', '/auth/me')).body.user).toMatchObject({ role: 'admin', name: 'Still admin' });
  });

  it('an admin setting a password ends the user’s sessions', async () => {
    const user = await newUser('agent', 'reset.agent@bank.test');
    const session = await signIn('reset.agent@bank.test');
    expect((await hub.api('POST', `/api/v1/users/${user.id}/password`, { password: 'short' })).status).toBe(400);
    expect((await hub.api('POST', `/api/v1/users/${user.id}/password`, { password: 'set by an administrator' })).status).toBe(200);
    expect((await call(session, 'GET', '/auth/me')).status).toBe(401);
    await signIn('reset.agent@bank.test', 'set by an administrator');
  });
});

describe('API tokens admin API', () => {
  it('creates a token shown once, lists tokens without hashes, and revokes them', async () => {
    const user = await newUser('agent', 'integration@bank.test');
    const created = await hub.api('POST', '/api/v1/api-tokens', { userId: user.id, name: 'CRM sync' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'CRM sync', userId: user.id, userEmail: 'integration@bank.test', token: expect.stringMatching(/^hub_/), revokedAt: null });
    const token = created.body.token as string;

    const asToken = await hub.api('GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${token}` });
    expect(asToken.body).toEqual({ user: { id: user.id, email: 'integration@bank.test', name: 'integration', role: 'agent' }, csrfToken: null });

    const listed = await hub.api('GET', '/api/v1/api-tokens');
    const item = listed.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(Object.keys(item).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'userEmail', 'userId']);
    expect(item.lastUsedAt).toEqual(expect.any(String));
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(JSON.stringify(listed.body)).not.toContain(createHash('sha256').update(token).digest('hex'));

    const revoked = await hub.api('POST', `/api/v1/api-tokens/${created.body.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect(revoked.body.token).toBeUndefined();
    const refused = await hub.api('GET', '/api/v1/auth/me', undefined, { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(401);
    expect((await hub.api('POST', `/api/v1/api-tokens/${created.body.id}/revoke`)).body.revokedAt).toBe(revoked.body.revokedAt);

    const audits = await hub.runtime.database.query<{ action: string; details: unknown }>(
      sql`select action, details from audit_log where target_id = ${created.body.id} order by created_at`,
    );
    expect(audits.map((a) => a.action)).toEqual(['api_token.create', 'api_token.revoke']);
    expect(JSON.stringify(audits)).not.toContain(token);
  });
});

describe('the rest of the API for a console user', () => {
  it('answers GET /agents/me with the defaults for a user without an agent profile yet', async () => {
    const user = await newUser('agent', 'fresh.agent@bank.test');
    const session = await signIn('fresh.agent@bank.test');
    const me = await call(session, 'GET', '/agents/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: user.id, email: 'fresh.agent@bank.test', presence: 'offline', capacity: 5, teamIds: [], skills: [], activeCount: 0 });
  });

  it('documents the new endpoints with their roles; sign-in needs none', async () => {
    const doc = await (await fetch(`${hub.baseUrl}/api/openapi.json`)).json();
    expect(doc.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(doc.paths['/api/v1/auth/login'].post.responses[429]).toBeDefined();
    expect(doc.paths['/api/v1/users'].get.description).toBe('Roles: admin.');
    expect(doc.paths['/api/v1/api-tokens/{id}/revoke'].post).toBeDefined();
    expect(doc.components.securitySchemes.session).toEqual({ type: 'apiKey', in: 'cookie', name: 'hub_session' });
  });

  it('without credentials, asks to sign in', async () => {
    const response = await fetch(`${hub.baseUrl}/api/v1/auth/me`);
    expect(response.status).toBe(401);
    expect((await response.json()).error).toMatch(/sign in/);
  });
});

describe('hub user create', () => {
  it('reads the password from piped standard input', async () => {
    const database = await createTestDatabase();
    try {
      const created = await runHubToEnd(['user', 'create', '--email', 'piped@bank.example', '--role', 'admin'], { DATABASE_URL: database.url }, { stdin: 'piped in passphrase\n' });
      expect(created.output).toMatch(/created admin piped@bank\.example/);
      expect(created.output).not.toContain('piped in passphrase');
      expect(created.code).toBe(0);
      const client = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await client<{ password_hash: string }[]>`select password_hash from users where email = 'piped@bank.example'`;
        expect(await verify(row!.password_hash, 'piped in passphrase')).toBe(true);
      } finally {
        await client.end({ timeout: 5 });
      }
      const short = await runHubToEnd(['user', 'create', '--email', 'short@bank.example', '--role', 'agent'], { DATABASE_URL: database.url }, { stdin: 'too short\n' });
      expect(short.code).toBe(1);
      expect(short.output.trim()).toBe('hub: invalid user: password: password must be at least 12 characters');
    } finally {
      await database.drop();
    }
  });
});
