import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRedis, RedisUnavailableError } from './redis-supervisor.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'hub-redis-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// Port 9 (discard) has no Redis on any machine this runs on.
const nothingThere = 'redis://127.0.0.1:9';
const logger = pino({ level: 'silent' });

describe('finding Redis without REDIS_URL', () => {
  it('uses a configured URL as it is', async () => {
    const target = await ensureRedis({ redisUrl: 'redis://redis.internal:6380', dataDir, logger, defaultUrl: nothingThere });
    expect(target.url).toBe('redis://redis.internal:6380');
  });

  it('starts a private, durable redis-server under the data directory and stops it', async () => {
    const target = await ensureRedis({ redisUrl: undefined, dataDir, logger, defaultUrl: nothingThere });
    expect(target.url).not.toBe(nothingThere);
    const client = new Redis(target.url);
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', path.join(dataDir, 'redis')]);
    } finally {
      client.disconnect();
    }
    await target.stop();
    const probe = new Redis(target.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    await expect(probe.connect()).rejects.toThrow();
  });

  it('says how to get Redis when none answers and none can be started', async () => {
    const error = await ensureRedis({
      redisUrl: undefined,
      dataDir,
      logger,
      defaultUrl: nothingThere,
      serverBinary: 'redis-server-not-installed',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/Set REDIS_URL, run "docker compose up -d redis", or install the redis-server package/);
  });
});
