import type { Redis } from 'ioredis';
import { HubError } from '../errors.js';
import { sha256Hex } from '../security/signatures.js';

/**
 * Failed password checks are counted per account (by the email typed, so unknown accounts count
 * the same and reveal nothing) and per client address. Past a limit within the window, the
 * account or address is locked for a while; before that, each further failure answers slower.
 */
export interface ThrottleLimits {
  accountFailures: number;
  addressFailures: number;
  windowMs: number;
  lockMs: number;
}

export const defaultThrottleLimits: ThrottleLimits = {
  accountFailures: 5,
  addressFailures: 20,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
};

export class TooManyAttempts extends HubError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      429,
      'too_many_attempts',
      `too many failed sign-in attempts; try again in ${Math.ceil(retryAfterSeconds / 60)} minute${retryAfterSeconds > 60 ? 's' : ''} (or ask an administrator to set a new password)`,
    );
  }
}

export interface SignInThrottle {
  /** Throws TooManyAttempts while the account or the address is locked. */
  check(email: string, address: string | null): Promise<void>;
  /** Counts a failure; returns the account's failures in the window and whether this one locked it (or the address). */
  fail(email: string, address: string | null): Promise<{ accountFailures: number; locked: TooManyAttempts | null }>;
  /** Forgets an account's failures (a successful sign-in, a new password set by an admin). */
  clear(email: string): Promise<void>;
}

/** Redis that does not answer makes sign-in unavailable rather than unthrottled. */
async function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HubError(503, 'unavailable', 'sign-in is unavailable right now (Redis does not answer); try again shortly')), 3_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createSignInThrottle(redis: Redis, prefix: string, limits: ThrottleLimits = defaultThrottleLimits): SignInThrottle {
  const account = (email: string) => `${prefix}:sign-in:account:${sha256Hex(email.trim().toLowerCase())}`;
  const address = (ip: string) => `${prefix}:sign-in:address:${ip}`;

  return {
    async check(email, ip) {
      const keys = [`${account(email)}:lock`, ...(ip ? [`${address(ip)}:lock`] : [])];
      const remaining = await withinDeadline(Promise.all(keys.map((key) => redis.pttl(key))));
      const longest = Math.max(...remaining);
      if (longest > 0) throw new TooManyAttempts(Math.ceil(longest / 1000));
    },

    async fail(email, ip) {
      const counters = [account(email), ...(ip ? [address(ip)] : [])];
      const pipeline = redis.multi();
      for (const key of counters) pipeline.incr(`${key}:failures`).pexpire(`${key}:failures`, limits.windowMs, 'NX');
      const results = await withinDeadline(pipeline.exec());
      const counts = counters.map((_, i) => Number(results?.[i * 2]?.[1] ?? 0));
      const [accountFailures = 0, addressFailures = 0] = counts;
      const toLock = [
        ...(accountFailures >= limits.accountFailures ? [counters[0]!] : []),
        ...(ip && addressFailures >= limits.addressFailures ? [counters[1]!] : []),
      ];
      if (!toLock.length) return { accountFailures, locked: null };
      const lock = redis.multi();
      // The count starts again once the lock is over.
      for (const key of toLock) lock.set(`${key}:lock`, '1', 'PX', limits.lockMs).del(`${key}:failures`);
      await withinDeadline(lock.exec());
      return { accountFailures, locked: new TooManyAttempts(Math.ceil(limits.lockMs / 1000)) };
    },

    async clear(email) {
      await withinDeadline(redis.del(`${account(email)}:failures`, `${account(email)}:lock`));
    },
  };
}
