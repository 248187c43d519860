import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { DomainEvent } from '../core/events.js';
import { jobNames, queueNames } from './queues.js';

/**
 * Reacts to one domain event (bot answer, routing, SLA timers). Handlers must be idempotent:
 * an event may be handled again after a worker crash.
 */
export type DomainEventHandler = (event: DomainEvent) => Promise<void>;

/** Runs every registered handler for each event of a batch on the `routing` queue, in order. */
export function startDomainEventWorker(deps: {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  lockMs: number;
  logger: Logger;
  handlers: DomainEventHandler[];
  /** Other jobs on the `routing` queue (sweepers), by job name. */
  jobs?: Record<string, () => Promise<void>>;
}) {
  const worker = new Worker(
    queueNames.routing,
    async (job: Job) => {
      if (job.name !== jobNames.domainEvent) return deps.jobs?.[job.name]?.();
      const { events } = job.data as { events: DomainEvent[] };
      for (const event of events) for (const handle of deps.handlers) await handle(event);
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockMs, stalledInterval: deps.lockMs },
  );
  worker.on('failed', (job, error) => deps.logger.warn({ jobId: job?.id, error: error.message }, 'domain event handler failed'));
  worker.on('error', (error) => deps.logger.error({ error: error.message }, 'domain event worker error'));
  return worker;
}
