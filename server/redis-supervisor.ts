import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface RedisTarget {
  url: string;
  /** Stops the private redis-server started for this process, if any. */
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Finds the Redis to use. An explicit REDIS_URL is used as it is. Without one, a Redis on the
 * default address is used if it answers; else a private redis-server is started with its data
 * under the data directory (append-only, never evicting: queue state must not vanish).
 */
export async function ensureRedis(options: {
  redisUrl: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Where a Redis is looked for when no URL is configured. */
  defaultUrl?: string;
  /** The redis-server executable to start (looked up on the PATH). */
  serverBinary?: string;
}): Promise<RedisTarget> {
  const noop = async () => {};
  const defaultUrl = options.defaultUrl ?? DEFAULT_REDIS_URL;
  if (options.redisUrl) return { url: options.redisUrl, stop: noop };
  if (await answers(defaultUrl)) return { url: defaultUrl, stop: noop };
  const help =
    `no Redis answers at ${defaultUrl} and no redis-server could be started. Set REDIS_URL, run ` +
    '"docker compose up -d redis", or install the redis-server package (apt-get install redis-server / brew install redis)';

  const dir = path.resolve(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--save', ''];
  let child: ChildProcess;
  try {
    child = await new Promise<ChildProcess>((resolve, reject) => {
      const proc = spawn(options.serverBinary ?? 'redis-server', args, { stdio: 'ignore' });
      proc.once('error', reject);
      proc.once('spawn', () => resolve(proc));
    });
  } catch {
    throw new RedisUnavailableError(help);
  }
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers(url))) {
    child.kill('SIGKILL');
    throw new RedisUnavailableError(`the private redis-server did not start; ${help}`);
  }
  options.logger.info({ url, dir }, 'started a private redis-server (no REDIS_URL set)');
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
