import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChannelStore } from '../core/channels/contract.js';

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

// Deletes the lock only if this holder still owns it, so a lapsed lock taken over by another
// process is never released by the first one.
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** The pub/sub channel a channel store's `publish` announces on. */
export const channelLiveTopic = (prefix: string, channelId: string) => `${prefix}:channel:${channelId}:live`;

/** A channel's shared state in Redis under `<prefix>:channel:<id>:`. */
export function createChannelStore(redis: Redis, prefix: string, channelId: string): ChannelStore {
  const key = (k: string) => `${prefix}:channel:${channelId}:${k}`;
  return {
    get: (k) => redis.get(key(k)),
    async set(k, value, ttlMs) {
      if (ttlMs) await redis.set(key(k), value, 'PX', ttlMs);
      else await redis.set(key(k), value);
    },
    async delete(k) {
      await redis.del(key(k));
    },
    async publish(message) {
      await redis.publish(channelLiveTopic(prefix, channelId), message);
    },
    async withLock(k, { ttlMs, waitMs }, fn) {
      const lockKey = key(`lock:${k}`);
      const owner = randomUUID();
      const deadline = Date.now() + waitMs;
      while ((await redis.set(lockKey, owner, 'PX', ttlMs, 'NX')) !== 'OK') {
        if (Date.now() >= deadline) throw new LockTimeoutError(`lock ${k} is busy`);
        await new Promise((r) => setTimeout(r, 25));
      }
      try {
        return await fn();
      } finally {
        await redis.eval(releaseScript, 1, lockKey, owner);
      }
    },
  };
}
