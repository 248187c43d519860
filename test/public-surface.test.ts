import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeToken } from '../adapters/email/reply-token.js';
import { loadConfig } from '../core/config.js';
import { startHttpServer } from '../server/http-server.js';
import { createLogger, createRuntime } from '../server/runtime.js';
import { startCallbackServer } from './support/callback-server.js';
import { runHubToEnd } from './support/hub-process.js';
import { isolatedEnvironment, startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * What anyone on the internet reaches without signing in: pages carry the console's security
 * headers, public endpoints are limited per address (webhooks are not), and a hub refuses to start
 * with a missing or weak encryption key and says when Redis may evict its queues.
 */
const limit = 5;
let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
const webhookSecret = randomBytes(16).toString('hex');
const appSecret = randomBytes(32).toString('hex');
let emailChannel: string;
let appChannel: string;
let webchatChannel: string;
let addressCounter = 0;
/** A client address of its own (the hub trusts X-Forwarded-For from loopback, as behind a local proxy). */
const newAddress = () => `198.51.100.${++addressCounter}`;

beforeAll(async () => {
  hub = await startTestHub({ workers: false, overrides: { PUBLIC_RATE_LIMIT_PER_MINUTE: String(limit) } });
  callback = await startCallbackServer();
  const make = async (type: string, config: Record<string, unknown>) => {
    const { status, body } = await hub.api('POST', '/api/v1/channels', { type, name: type, config });
    expect(status).toBe(201);
    return body.id as string;
  };
  emailChannel = await make('email', { address: 'care@bank.test', webhookSecret });
  appChannel = await make('app', { tokenAlgorithm: 'HS256', tokenSecret: appSecret });
  webchatChannel = await make('webchat', { allowedOrigins: ['*'] });
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

const unsubscribeUrl = (address = 'wang@customer.test') => `${hub.baseUrl}/email/unsubscribe/${emailChannel}/${unsubscribeToken(webhookSecret, address)}`;

describe('HTML pages', () => {
  it.each([
    ['the unsubscribe page', () => unsubscribeUrl(), 200],
    ['an invalid unsubscribe link', () => `${hub.baseUrl}/email/unsubscribe/${emailChannel}/nonsense.token`, 404],
    ['the console', () => `${hub.baseUrl}/`, 200],
  ])('%s carries the security headers', async (_what, url, status) => {
    const response = await fetch(url(), { headers: { accept: 'text/html', 'x-forwarded-for': newAddress() } });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBeTruthy();
  });

  it('the unsubscribe page, which names an address, is not kept or referred', async () => {
    const response = await fetch(unsubscribeUrl(), { headers: { 'x-forwarded-for': newAddress() } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

/** Sends `count` requests from one address; the statuses in order. */
async function burst(count: number, request: () => Promise<Response>): Promise<{ statuses: number[]; retryAfter: string | null }> {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < count; i++) {
    const response = await request();
    statuses.push(response.status);
    if (response.status === 429) retryAfter ??= response.headers.get('retry-after');
    await response.arrayBuffer();
  }
  return { statuses, retryAfter };
}

/**
 * The limit counts per minute: a burst of twice the limit and one meets it even if the minute
 * turns over during the burst, and no request within the limit is refused.
 */
function expectLimited({ statuses, retryAfter }: { statuses: number[]; retryAfter: string | null }) {
  expect(statuses.slice(0, limit)).not.toContain(429);
  expect(statuses).toContain(429);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
}

describe('rate limits', () => {
  it('the widget answers 429 with Retry-After past the limit per address, and other addresses go on', async () => {
    const address = newAddress();
    const frame = (from: string) =>
      fetch(`${hub.baseUrl}/widget/v1/channels/${webchatChannel}/frames`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://www.bank.test', 'x-forwarded-for': from },
        body: JSON.stringify({ hello: {} }),
      });
    const result = await burst(2 * limit + 1, () => frame(address));
    expectLimited(result);
    const limited = await frame(address);
    if (limited.status === 429) expect(await limited.json()).toMatchObject({ code: 'rate_limited' });
    expect((await frame(newAddress())).status).toBe(200);
  });

  it('the app API and the unsubscribe page are limited the same way', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('app-user-1').setExpirationTime('5m').sign(new TextEncoder().encode(appSecret));
    const appAddress = newAddress();
    expectLimited(
      await burst(2 * limit + 1, () =>
        fetch(`${hub.baseUrl}/api/app/v1/channels/${appChannel}/messages`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': appAddress } }),
      ),
    );
    const pageAddress = newAddress();
    expectLimited(await burst(2 * limit + 1, () => fetch(unsubscribeUrl(), { headers: { 'x-forwarded-for': pageAddress } })));
  });

  it('provider webhooks and the signed-in API are not limited', async () => {
    const channel = await hub.createApiChannel(callback.url);
    for (let i = 0; i < 3 * limit; i++) {
      const answer = await hub.postSigned(channel.id, channel.secret, { messageId: `burst-${i}`, from: { kind: 'phone', value: '13800138000' }, text: `message ${i}` });
      expect(answer.status).toBe(200);
    }
    for (let i = 0; i < 3 * limit; i++) expect((await hub.api('GET', '/api/v1/channels')).status).toBe(200);
  });
});

describe('start-up', () => {
  it('refuses a missing or weak ENCRYPTION_KEY when DATABASE_URL is set, in one line', async () => {
    const isolated = await isolatedEnvironment();
    try {
      const { ENCRYPTION_KEY: _key, ...env } = isolated.env;
      const missing = await runHubToEnd(['start'], env);
      expect(missing.code).toBe(1);
      expect(missing.output.trim()).toMatch(/^hub: invalid configuration: ENCRYPTION_KEY: required with DATABASE_URL/);
      const weak = await runHubToEnd(['start'], { ...env, ENCRYPTION_KEY: Buffer.alloc(32, 'secret').toString('base64') });
      expect(weak.code).toBe(1);
      expect(weak.output.trim()).toMatch(/^hub: invalid configuration: ENCRYPTION_KEY: a weak key/);
    } finally {
      await isolated.cleanup();
    }
  });

  it('answers 503 with Retry-After, not 500, while the database refuses connections', async () => {
    // Nothing listens on port 1: every connection attempt is refused.
    const isolated = await isolatedEnvironment({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/hub', LOG_LEVEL: 'silent' });
    const runtime = await createRuntime(loadConfig(isolated.env));
    const server = await startHttpServer(runtime, { port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const api = await fetch(`${base}/api/v1/channels`, { headers: { authorization: 'Bearer hub_anything' } });
      expect(api.status).toBe(503);
      expect(api.headers.get('retry-after')).toBe('5');
      expect(await api.json()).toMatchObject({ code: 'unavailable' });
      const webhook = await fetch(`${base}/webhooks/api/${randomUUID()}`, { method: 'POST', body: '{}' });
      expect(webhook.status).toBe(503);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await isolated.cleanup();
    }
  });

  it('warns when Redis may evict keys', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
    const isolated = await isolatedEnvironment({ REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'info' });
    let log = '';
    try {
      const config = loadConfig(isolated.env);
      const logger = createLogger(config, new Writable({ write: (chunk: Buffer, _e, done) => ((log += chunk.toString()), done()) }));
      await waitFor(async () => {
        const probe = net.connect(port, '127.0.0.1');
        return new Promise<boolean>((resolve) => probe.once('connect', () => (probe.end(), resolve(true))).once('error', () => resolve(false)));
      });
      const runtime = await createRuntime(config, logger);
      await runtime.close();
      expect(log).toMatch(/Redis maxmemory-policy is allkeys-lru: .*set maxmemory-policy noeviction/);
    } finally {
      redis.kill();
      await isolated.database.drop();
    }
  });
});
