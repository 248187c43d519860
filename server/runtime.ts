import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { adapters } from '../adapters/registry.js';
import { createKbCache, type KbCache } from '../core/bot/kb-articles.js';
import { createChannelCache, type ChannelCache } from '../core/channels/channel-service.js';
import { ConfigError, type Config } from '../core/config.js';
import { openDatabase, type Database } from '../core/db/client.js';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import { scrubErrorText, serializeError } from '../core/log-safety.js';
import { SecretBox } from '../core/security/secret-box.js';
import { botWants, createBotHandler } from '../workflows/bot.handler.js';
import { createChannelStore } from '../workflows/channel-store.js';
import { createEventPublisher } from '../workflows/events.js';
import { closeWithin, startPipelineWorkers } from '../workflows/pipeline.worker.js';
import { startDomainEventWorker, type DomainEventHandler } from '../workflows/domain-events.worker.js';
import { startImapPolling } from '../workflows/imap-poll.worker.js';
import { createQueues, jobNames, type Queues } from '../workflows/queues.js';
import {
  createQueueLengthPublisher,
  createRoutingHandler,
  createRoutingSweep,
  routingWants,
  type RoutingPublisherDeps,
} from '../workflows/routing.handler.js';
import { createSlaHandler, slaJobNames, startSlaWorker, type SlaDeps } from '../workflows/sla.worker.js';
import { slaWants } from '../core/sla/sla-clocks.js';
import { createCsatHandler, csatWants } from '../workflows/csat.handler.js';
import { campaignJobNames, startCampaignWorker } from '../workflows/campaign.worker.js';
import { ensureRedis } from './redis-supervisor.js';
import { acceptInboundEvents } from './webhooks.js';

/** Everything a hub process shares: one database pool, one Redis connection, the queues. */
export interface Runtime {
  config: Config;
  logger: Logger;
  database: Database;
  redis: Redis;
  redisUrl: string;
  queues: Queues;
  events: DomainEventPublisher;
  secretBox: SecretBox;
  channels: ChannelCache;
  adapters: typeof adapters;
  /** The knowledge-base index, rebuilt when articles change. */
  kb: KbCache;
  /** Tells every process's consoles the queue's length after this process changed it. */
  publishQueueLength: () => Promise<void>;
  close(): Promise<void>;
}

/**
 * The process's logger. Errors, under `err` or `error`, are described without what they may carry
 * of customers: a failed query by its statement's first words and parameter count, never the
 * parameters (see core/log-safety.ts). `destination` is for tests that read the log.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.LOG_LEVEL,
    serializers: {
      err: serializeError,
      error: (value: unknown) => (typeof value === 'string' ? scrubErrorText(value) : value instanceof Error ? serializeError(value) : value),
    },
    // Credentials must never reach the logs, whatever a handler decides to log.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        'req.headers["x-hub-signature-256"]',
        'req.headers["x-twilio-signature"]',
        '*.password',
        '*.currentPassword',
        '*.newPassword',
        '*.csrfToken',
        '*.secret',
        '*.token',
        '*.authToken',
        '*.appSecret',
        '*.identitySecret',
        '*.webhookSecret',
        '*.smtpPassword',
        '*.imapPassword',
        '*.dkimPrivateKey',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The key that seals channel secrets. In production it comes from ENCRYPTION_KEY; with the
 * embedded database (local use) a key is generated once and kept beside the data it protects.
 */
function loadEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.ENCRYPTION_KEY) return Buffer.from(config.ENCRYPTION_KEY, 'base64');
  if (!config.embeddedDatabase) {
    throw new ConfigError('invalid configuration: ENCRYPTION_KEY: required with DATABASE_URL (openssl rand -base64 32)');
  }
  const file = path.resolve(config.DATA_DIR, 'encryption.key');
  if (!existsSync(file)) {
    mkdirSync(config.DATA_DIR, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    logger.warn({ file }, 'generated an encryption key for the embedded database; set ENCRYPTION_KEY in production');
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/**
 * Queue jobs, timers and locks live in Redis: a Redis that evicts keys under memory pressure
 * loses them silently. Managed Redis services may refuse CONFIG; then nothing can be said.
 */
export async function warnUnlessNoEviction(redis: Redis, logger: Logger): Promise<void> {
  try {
    const answer = (await Promise.race([
      redis.config('GET', 'maxmemory-policy'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), 2_000).unref()),
    ])) as string[];
    const policy = answer[1];
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { maxmemoryPolicy: policy },
        `Redis maxmemory-policy is ${policy}: under memory pressure Redis would evict queued jobs, timers and locks; set maxmemory-policy noeviction`,
      );
    }
  } catch (error) {
    logger.info({ error: (error as Error).message }, 'could not read Redis maxmemory-policy (CONFIG refused?); it must be noeviction');
  }
}

export async function createRuntime(config: Config, logger = createLogger(config)): Promise<Runtime> {
  const secretBox = new SecretBox(loadEncryptionKey(config, logger));
  const redisTarget = await ensureRedis({
    redisUrl: config.REDIS_URL,
    dataDir: config.DATA_DIR,
    logger,
  });
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  if (config.MIGRATE_ON_START) await database.migrate();
  // BullMQ workers block on Redis; commands must wait through a reconnect instead of failing.
  const redis = new Redis(redisTarget.url, { maxRetriesPerRequest: null });
  redis.on('error', (error) => logger.warn({ error: error.message }, 'redis connection error'));
  await warnUnlessNoEviction(redis, logger);
  const publisher = redis.duplicate();
  publisher.on('error', (error) => logger.warn({ error: error.message }, 'redis connection error'));
  const queues = createQueues({
    connection: redis,
    prefix: config.REDIS_PREFIX,
    inboundMaxAttempts: config.INBOUND_MAX_ATTEMPTS,
    retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
  });
  const channels = createChannelCache({
    db: database.db,
    secretBox,
    adapters,
    runtime: {
      publicBaseUrl: config.PUBLIC_BASE_URL,
      allowPrivateNetwork: config.OUTBOUND_ALLOW_PRIVATE,
      sendTimeoutMs: config.SEND_TIMEOUT_MS,
      storeFor: (channelId) => createChannelStore(redis, config.REDIS_PREFIX, channelId),
      logger,
    },
  });
  return {
    config,
    logger,
    database,
    redis,
    redisUrl: redisTarget.url,
    queues,
    // Its own connection: BullMQ defines its scripts on `redis`, which every pipeline there copies.
    events: createEventPublisher(publisher, config.REDIS_PREFIX, queues, handledInWorkers),
    secretBox,
    channels,
    adapters,
    kb: createKbCache(database.db),
    publishQueueLength: createQueueLengthPublisher(database.db, redis, config.REDIS_PREFIX),
    async close() {
      await queues.close();
      redis.disconnect();
      publisher.disconnect();
      await database.close();
      await redisTarget.stop();
    },
  };
}

/**
 * Everything that reacts to domain events in a worker, with the events each acts on; a feature
 * adds its handler here.
 */
const domainEventHandlers: Array<{ wants: (event: DomainEvent) => boolean; create: (runtime: Runtime) => DomainEventHandler }> = [
  // Before the bot: a survey answer that opened a conversation closes it before the bot greets it.
  { wants: csatWants, create: (runtime) => createCsatHandler({ db: runtime.database.db, adapters: runtime.adapters, events: runtime.events }) },
  {
    wants: botWants,
    create: (runtime) => createBotHandler({ db: runtime.database.db, adapters: runtime.adapters, kb: runtime.kb, events: runtime.events }),
  },
  { wants: routingWants, create: (runtime) => createRoutingHandler(routingPublisherDeps(runtime)) },
  // After routing: a handover's SLA policy is the one routing just chose.
  { wants: slaWants, create: (runtime) => createSlaHandler(slaDeps(runtime)) },
];

function slaDeps(runtime: Runtime): SlaDeps {
  return {
    db: runtime.database.db,
    queue: runtime.queues.sla,
    redis: runtime.redis,
    prefix: runtime.config.REDIS_PREFIX,
    events: runtime.events,
    logger: runtime.logger,
  };
}

/** Whether any worker-side handler acts on the event. */
export function handledInWorkers(event: DomainEvent): boolean {
  return domainEventHandlers.some((handler) => handler.wants(event));
}

export function routingPublisherDeps(runtime: Runtime): RoutingPublisherDeps {
  return {
    routing: { db: runtime.database.db, adapters: runtime.adapters },
    redis: runtime.redis,
    prefix: runtime.config.REDIS_PREFIX,
    events: runtime.events,
    publishQueueLength: runtime.publishQueueLength,
  };
}

/** Starts this process's workers on the runtime's connections, tuned by the configuration. */
export async function startWorkers(runtime: Runtime) {
  const { config } = runtime;
  const pipeline = await startPipelineWorkers({
    db: runtime.database.db,
    queues: runtime.queues,
    connection: runtime.redis,
    prefix: config.REDIS_PREFIX,
    logger: runtime.logger,
    events: runtime.events,
    loadChannel: (id) => runtime.channels.get(id),
    adapters: runtime.adapters,
    concurrency: config.WORKER_CONCURRENCY,
    inboundMaxAttempts: config.INBOUND_MAX_ATTEMPTS,
    conversationWindowMs: config.CONVERSATION_WINDOW_MS,
    outboundMaxAttempts: config.OUTBOUND_MAX_ATTEMPTS,
    retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
    sweepIntervalMs: config.SWEEP_INTERVAL_MS,
    sweepGraceMs: config.SWEEP_GRACE_MS,
    sendTimeoutMs: config.SEND_TIMEOUT_MS,
    jobLockMs: config.JOB_LOCK_MS,
  });
  const domainEvents = startDomainEventWorker({
    connection: runtime.redis,
    prefix: config.REDIS_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.JOB_LOCK_MS,
    logger: runtime.logger,
    handlers: domainEventHandlers.map((handler) => handler.create(runtime)),
    jobs: {
      [jobNames.sweepRouting]: createRoutingSweep({ ...routingPublisherDeps(runtime), graceMs: config.SWEEP_GRACE_MS, logger: runtime.logger }),
    },
  });
  const sla = startSlaWorker({
    ...slaDeps(runtime),
    connection: runtime.redis,
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.JOB_LOCK_MS,
    // Timers due within a few sweeps are re-added: a later one is re-added by a later sweep.
    horizonMs: Math.max(60_000, 5 * config.SWEEP_INTERVAL_MS),
  });
  const imapPolling = startImapPolling({
    db: runtime.database.db,
    logger: runtime.logger,
    loadChannel: (id) => runtime.channels.get(id),
    accept: (channelId, events) => acceptInboundEvents(runtime, channelId, events),
    // Finding due mailboxes is one indexed query; each channel's own interval paces the polls.
    tickMs: 1_000,
  });
  const campaigns = startCampaignWorker({
    db: runtime.database.db,
    adapters: runtime.adapters,
    queues: runtime.queues,
    redis: runtime.redis,
    connection: runtime.redis,
    prefix: config.REDIS_PREFIX,
    events: runtime.events,
    logger: runtime.logger,
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.JOB_LOCK_MS,
    sweepGraceMs: config.SWEEP_GRACE_MS,
  });
  await runtime.queues.campaigns.upsertJobScheduler('sweep-campaigns', { every: config.SWEEP_INTERVAL_MS }, { name: campaignJobNames.sweep });
  await runtime.queues.routing.upsertJobScheduler('sweep-routing', { every: config.SWEEP_INTERVAL_MS }, { name: jobNames.sweepRouting });
  await runtime.queues.sla.upsertJobScheduler('sweep-sla', { every: config.SWEEP_INTERVAL_MS }, { name: slaJobNames.sweep });
  return {
    /** Stops taking jobs and waits for running ones, at most `timeoutMs`. */
    async close(timeoutMs: number) {
      await Promise.all([pipeline.close(timeoutMs), closeWithin(domainEvents, timeoutMs), closeWithin(sla, timeoutMs), closeWithin(campaigns, timeoutMs), imapPolling.close(timeoutMs)]);
    },
  };
}
