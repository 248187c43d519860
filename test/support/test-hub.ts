import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { signBody } from '../../adapters/api/api.adapter.js';
import { loadConfig, type Config } from '../../core/config.js';
import { updateRoutingSettings } from '../../core/routing/routing-settings.js';
import { createApiToken, createUser } from '../../core/users/users.js';
import { startHttpServer } from '../../server/http-server.js';
import { createLogger, createRuntime, startWorkers, type Runtime } from '../../server/runtime.js';
import { startSmtpIntake } from '../../server/smtp-intake.js';
import { createTestDatabase } from './databases.js';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The environment of a hub isolated to its own database and Redis key prefix. */
export async function isolatedEnvironment(overrides: Record<string, string> = {}) {
  const database = await createTestDatabase();
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl,
    REDIS_PREFIX: prefix,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OUTBOUND_ALLOW_PRIVATE: 'true',
    MIGRATE_ON_START: 'false',
    RETRY_BASE_DELAY_MS: '100',
    SWEEP_INTERVAL_MS: '500',
    SWEEP_GRACE_MS: '1000',
    SEND_TIMEOUT_MS: '2000',
    JOB_LOCK_MS: '2000',
    ...overrides,
  };
  return {
    env,
    database,
    async cleanup() {
      await clearRedisPrefix(prefix);
      await database.drop();
    },
  };
}

export async function clearRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface TestHub {
  config: Config;
  runtime: Runtime;
  env: Record<string, string>;
  baseUrl: string;
  adminToken: string;
  /** The port of the hub's SMTP listener, when started with `smtp: true`. */
  smtpPort: number | undefined;
  /** Calls the REST API as the admin. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  createApiChannel(callbackUrl: string, secret?: string): Promise<{ id: string; secret: string }>;
  /** Posts a signed API-channel message, as a bank system would. */
  postSigned(channelId: string, secret: string, message: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/**
 * A whole hub (HTTP server and workers) in this process, on its own database and Redis prefix,
 * reached over real HTTP on an ephemeral port.
 */
export async function startTestHub(
  options: {
    overrides?: Record<string, string>;
    workers?: boolean;
    smtp?: boolean;
    /**
     * Queue-position notices to customers (on by default in the product). Off unless a suite
     * asks: every conversation without a bot goes to the queue, and a channel's own tests count
     * exactly what it sends.
     */
    queueNotices?: boolean;
    /** Where the hub's log goes (at the configured LOG_LEVEL), for suites that read it. */
    logDestination?: DestinationStream;
  } = {},
): Promise<TestHub> {
  const isolated = await isolatedEnvironment(options.overrides);
  const config = loadConfig(isolated.env);
  const runtime = await createRuntime(config, options.logDestination ? createLogger(config, options.logDestination) : undefined);
  const workers = options.workers === false ? undefined : await startWorkers(runtime);
  const server = await startHttpServer(runtime, { port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const smtp = options.smtp ? await startSmtpIntake(runtime, { port: 0, host: '127.0.0.1' }) : undefined;

  const admin = await createUser(runtime.database.db, null, { email: 'admin@bank.test', role: 'admin' });
  if (!options.queueNotices) await updateRoutingSettings(runtime.database.db, admin.id, { queueNotice: { enabled: false } });
  const { token: adminToken } = await createApiToken(runtime.database.db, null, admin.email, 'tests');

  const api: TestHub['api'] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  return {
    config,
    runtime,
    env: isolated.env,
    baseUrl,
    adminToken,
    smtpPort: smtp?.port,
    api,
    async createApiChannel(callbackUrl, secret = randomBytes(24).toString('hex')) {
      const { status, body } = await api('POST', '/api/v1/channels', { type: 'api', name: 'Core banking', config: { callbackUrl, secret } });
      if (status !== 201) throw new Error(`channel creation failed: ${status} ${JSON.stringify(body)}`);
      return { id: body.id as string, secret };
    },
    async postSigned(channelId, secret, message) {
      const raw = JSON.stringify(message);
      const response = await fetch(`${baseUrl}/webhooks/api/${channelId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(secret, raw) },
        body: raw,
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await smtp?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await workers?.close(5_000);
      await runtime.close();
      await isolated.cleanup();
    },
  };
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
