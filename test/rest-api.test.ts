import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, createUser } from '../core/users/users.js';
import { apiRoutes } from '../server/api/routes.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let agentToken: string;

beforeAll(async () => {
  hub = await startTestHub();
  const agent = await createUser(hub.runtime.database.db, null, { email: 'li.agent@bank.test', role: 'agent' });
  agentToken = (await createApiToken(hub.runtime.database.db, null, agent.email, 'console')).token;
});
afterAll(() => hub?.close());

const asAgent = (method: string, path: string, body?: unknown) => hub.api(method, path, body, { authorization: `Bearer ${agentToken}` });

describe('channels API', () => {
  it('never returns secrets, only which are set; updates keep secrets left out', async () => {
    const created = await hub.api('POST', '/api/v1/channels', {
      type: 'api',
      name: 'Card system',
      config: { callbackUrl: 'https://cards.bank.example/hub', secret: 'super-secret-signing-key-1234' },
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain('super-secret-signing-key');
    expect(created.body).toMatchObject({ type: 'api', name: 'Card system', enabled: true, config: { callbackUrl: 'https://cards.bank.example/hub' }, secretsSet: ['secret'] });

    const renamed = await hub.api('PATCH', `/api/v1/channels/${created.body.id}`, { name: 'Cards', config: { callbackUrl: 'https://cards2.bank.example/hub' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Cards', config: { callbackUrl: 'https://cards2.bank.example/hub' }, secretsSet: ['secret'] });

    const [row] = await hub.runtime.database.query<{ secrets: string; config: unknown }>(sql`select secrets, config from channels where id = ${created.body.id}`);
    expect(row!.secrets).not.toContain('super-secret');
    expect(JSON.stringify(row!.config)).not.toContain('super-secret');

    const listed = await hub.api('GET', '/api/v1/channels');
    expect(JSON.stringify(listed.body)).not.toContain('super-secret-signing-key');

    const disabled = await hub.api('POST', `/api/v1/channels/${created.body.id}/disable`);
    expect(disabled.body.enabled).toBe(false);
    const webhook = await fetch(`${hub.baseUrl}/webhooks/api/${created.body.id}`, { method: 'POST', body: '{}' });
    expect(webhook.status).toBe(403);
  });

  it("tests a channel's callback from the admin API", async () => {
    const reachable = await startCallbackServer([204]);
    try {
      const channel = await hub.createApiChannel(reachable.url);
      const ok = await hub.api('POST', `/api/v1/channels/${channel.id}/test`);
      expect(ok.body).toEqual({ ok: true, message: 'callback answered 204' });
      expect(reachable.received.map((r) => r.method)).toEqual(['HEAD']);
    } finally {
      await reachable.close();
    }
    // Port 9 on loopback: nothing listens there.
    const unreachable = await hub.createApiChannel('http://127.0.0.1:9/hub');
    const failed = await hub.api('POST', `/api/v1/channels/${unreachable.id}/test`);
    expect(failed.status).toBe(200);
    expect(failed.body.ok).toBe(false);
    expect(failed.body.message).toMatch(/ECONNREFUSED/);
  });

  it('rejects a bad config with a message naming the field', async () => {
    const response = await hub.api('POST', '/api/v1/channels', { type: 'api', name: 'x', config: { callbackUrl: 'not a url', secret: 'short' } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/callbackUrl/);
    expect(response.body.error).toMatch(/secret/);
    const unknownType = await hub.api('POST', '/api/v1/channels', { type: 'fax', name: 'x', config: {} });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error).toMatch(/^invalid request body: type:/);
  });

  it('audits every channel change with its actor, without secret values', async () => {
    const created = await hub.api('POST', '/api/v1/channels', { type: 'api', name: 'Audited', config: { callbackUrl: 'https://a.example/x', secret: 'audited-secret-value-123' } });
    await hub.api('PATCH', `/api/v1/channels/${created.body.id}`, { config: { secret: 'rotated-secret-value-456' } });
    const entries = await hub.runtime.database.query<{ action: string; details: unknown; actor_user_id: string | null }>(
      sql`select action, details, actor_user_id from audit_log where target_id = ${created.body.id} order by created_at`,
    );
    expect(entries.map((e) => e.action)).toEqual(['channel.create', 'channel.update']);
    expect(entries.every((e) => e.actor_user_id !== null)).toBe(true);
    expect(JSON.stringify(entries)).not.toMatch(/audited-secret|rotated-secret/);
    expect(entries[1]!.details).toMatchObject({ configFields: ['secret'] });
  });

  it('lets only admins manage channels', async () => {
    const response = await asAgent('POST', '/api/v1/channels', { type: 'api', name: 'x', config: {} });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatch(/role agent may not POST \/channels/);
    expect((await asAgent('GET', '/api/v1/conversations')).status).toBe(200);
  });
});

describe('authentication and errors', () => {
  it('records when a token was last used', async () => {
    await hub.api('GET', '/api/v1/channels');
    const [row] = await hub.runtime.database.query<{ last_used_at: Date | null }>(
      sql`select last_used_at from api_tokens where name = 'tests'`,
    );
    expect(row!.last_used_at).not.toBeNull();
    expect(Date.now() - new Date(row!.last_used_at!).getTime()).toBeLessThan(120_000);
  });

  it('requires a bearer token and answers unknown ids and paths with 404', async () => {
    const missing = await fetch(`${hub.baseUrl}/api/v1/conversations`);
    expect(missing.status).toBe(401);
    expect((await missing.json()).error).toMatch(/Bearer/);
    expect((await hub.api('GET', '/api/v1/conversations/not-a-uuid')).status).toBe(404);
    expect((await hub.api('GET', '/api/v1/contacts/6b0d2d4e-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await hub.api('GET', '/api/v1/nothing-here')).status).toBe(404);
  });

  it('answers malformed JSON with 400 and keeps serving', async () => {
    const response = await fetch(`${hub.baseUrl}/api/v1/channels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
      body: '{"type":',
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toBe('body is not valid JSON');
    expect((await fetch(`${hub.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('conversations API', () => {
  it('lists with filters and pages with a cursor, most recent first', async () => {
    const channel = await hub.createApiChannel('http://127.0.0.1:9/unused');
    for (let i = 0; i < 3; i++) {
      await hub.postSigned(channel.id, channel.secret, { messageId: `page-${i}`, from: { kind: 'external_id', value: `CUST-${i}` }, text: `m${i}` });
    }
    await waitFor(async () => (await hub.api('GET', `/api/v1/conversations?channelId=${channel.id}`)).body.items.length === 3, 10_000, 'three conversations');
    const first = await hub.api('GET', `/api/v1/conversations?channelId=${channel.id}&limit=2`);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await hub.api('GET', `/api/v1/conversations?channelId=${channel.id}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((c: { id: string }) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect((await hub.api('GET', '/api/v1/conversations?status=resolved')).body.items).toEqual([]);
    expect((await hub.api('GET', '/api/v1/conversations?status=closed')).status).toBe(400);
    expect((await hub.api('GET', '/api/v1/conversations?cursor=garbage')).status).toBe(400);
  });
});

describe('OpenAPI description', () => {
  it('describes every REST endpoint the API serves, and the API-channel webhook', async () => {
    const response = await fetch(`${hub.baseUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    const doc = await response.json();
    expect(doc.openapi).toBe('3.1.0');
    for (const route of apiRoutes) {
      const path = `/api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      expect(doc.paths[path]?.[route.method], `${route.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/webhooks/api/{channelId}'].post.requestBody).toBeDefined();
    expect(doc.paths['/api/v1/channels'].post.requestBody.content['application/json'].schema.properties.type.enum).toContain('api');
  });
});
