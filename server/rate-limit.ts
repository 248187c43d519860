import type { RequestHandler } from 'express';
import type { Runtime } from './runtime.js';

const windowSeconds = 60;

/**
 * Limits a public entry point (no sign-in before it) to `PUBLIC_RATE_LIMIT_PER_MINUTE` requests a
 * minute per client address, counted in Redis so that every hub process shares the count: past
 * it, 429 with Retry-After (the seconds until the minute is over). The limit is generous, there
 * to stop one address from flooding, not to shape normal use; provider webhooks are not limited.
 * Should Redis not answer, requests pass: the limit must not take the endpoint down with it.
 */
export function limitPerAddress(runtime: Runtime, bucket: string): RequestHandler {
  const limit = runtime.config.PUBLIC_RATE_LIMIT_PER_MINUTE;
  return (req, res, next) => {
    if (runtime.redis.status !== 'ready') return next();
    const now = Math.floor(Date.now() / 1000);
    const window = Math.floor(now / windowSeconds);
    const key = `${runtime.config.REDIS_PREFIX}:rate:${bucket}:${req.ip ?? 'unknown'}:${window}`;
    runtime.redis
      .multi()
      .incr(key)
      .expire(key, windowSeconds * 2)
      .exec()
      .then((results) => {
        const count = Number(results?.[0]?.[1] ?? 0);
        if (count <= limit) return next();
        const retryAfter = (window + 1) * windowSeconds - now;
        res
          .status(429)
          .set('retry-after', String(Math.max(1, retryAfter)))
          .json({ error: `too many requests from this address; try again in ${retryAfter} s`, code: 'rate_limited' });
      })
      .catch(() => next());
  };
}
