import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const roleList = z
  .string()
  .transform((value) => value.split(',').map((role) => role.trim()).filter(Boolean))
  .pipe(z.array(z.enum(['admin', 'supervisor', 'agent', 'marketer'])))
  .or(z.array(z.enum(['admin', 'supervisor', 'agent', 'marketer'])));
const durationMs = z.coerce
  .number({ error: 'expected a number of milliseconds' })
  .int('expected a whole number of milliseconds')
  .positive('expected a positive number of milliseconds');

/**
 * 32 random bytes take about 30 distinct values; a key of a few repeated bytes (all zeros, a
 * pattern, a test value) would be one of very few an attacker needs to try.
 */
function isRandomLooking(key: string): boolean {
  return new Set(Buffer.from(key, 'base64')).size >= 16;
}

/** Public endpoints (the widget, the app API, the unsubscribe page) take this many requests a minute per client address. */
const requestsPerMinute = z.coerce.number({ error: 'expected a number of requests per minute' }).int().min(1).max(1_000_000);

const envSchema = z.object({
  PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_BASE_URL: z.url({ error: 'expected an absolute URL such as https://hub.example.com' }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL (leave it unset for the embedded database)')
    .optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, dot, dash or underscore')
    .default('hub'),
  DATA_DIR: z.string().min(1).default('./data'),
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => /^[A-Za-z0-9+/_-]{43}=?$/.test(v.trim()) && Buffer.from(v, 'base64').length === 32, 'expected 32 random bytes in base64 (openssl rand -base64 32)')
    .refine(isRandomLooking, 'a weak key (a repeated or patterned value, not random bytes): generate one with openssl rand -base64 32')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OUTBOUND_ALLOW_PRIVATE: booleanFromEnv.default(false),
  /**
   * Roles that see phone numbers and emails inside message text masked (comma-separated, empty
   * for none). Card and resident ID numbers are masked for every role (docs/security.md).
   */
  MASK_CONTACT_DETAILS_ROLES: roleList.default(['agent', 'marketer']),
  /** Roles that may reveal a masked message's original text (POST /messages/:id/reveal, audited). */
  MASK_REVEAL_ROLES: roleList.default(['admin', 'supervisor']),
  MIGRATE_ON_START: booleanFromEnv.default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  SWEEP_INTERVAL_MS: durationMs.default(10_000),
  SWEEP_GRACE_MS: durationMs.default(30_000),
  SEND_TIMEOUT_MS: durationMs.default(10_000),
  OUTBOUND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  INBOUND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  RETRY_BASE_DELAY_MS: durationMs.default(2_000),
  /** How long a worker's claim on a job lasts; a job of a dead worker is retried after about this long. */
  JOB_LOCK_MS: durationMs.default(30_000),
  SHUTDOWN_TIMEOUT_MS: durationMs.default(15_000),
  /** A conversation quiet for longer than this is not continued: the next message opens a new one. */
  CONVERSATION_WINDOW_MS: durationMs.default(86_400_000),
  /** How often the hub pings agent and widget sockets; one that has not answered the last ping is dropped. */
  SOCKET_PING_INTERVAL_MS: durationMs.default(30_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
  /** Requests per minute one client address may make to the widget, the app API and the unsubscribe page. */
  PUBLIC_RATE_LIMIT_PER_MINUTE: requestsPerMinute.default(600),
  /** A console session unused for this long is over; the user signs in again. */
  SESSION_IDLE_MINUTES: z.coerce.number({ error: 'expected a number of minutes' }).positive('expected a positive number of minutes').default(30),
  /** A console session ends this long after sign-in, however busy. */
  SESSION_MAX_HOURS: z.coerce.number({ error: 'expected a number of hours' }).positive('expected a positive number of hours').default(12),
  /** The built-in SMTP listener for email channels; off when unset. */
  SMTP_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).optional(),
  SMTP_HOST: z.string().min(1).default('0.0.0.0'),
  /** Mail larger than this is refused with 552. */
  SMTP_MAX_BYTES: z.coerce.number().int().positive().default(26_214_400),
});

export type Config = z.infer<typeof envSchema> & {
  /** The embedded database is used when no DATABASE_URL is given. */
  embeddedDatabase: boolean;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the hub's configuration from an environment map. A bad value raises a ConfigError whose
 * message is one line naming the variable and what it expects, so start-up can print it as is.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings (e.g. `DATABASE_URL=` in a .env file) mean "unset", as users expect.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${name}: ${issue.message}`);
  }
  return { ...parsed.data, embeddedDatabase: parsed.data.DATABASE_URL === undefined };
}
