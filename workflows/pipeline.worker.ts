import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { LoadedChannel } from '../core/channels/channel-service.js';
import type { AdapterRegistry } from '../core/channels/contract.js';
import type { Db } from '../core/db/client.js';
import type { DomainEventPublisher } from '../core/events.js';
import { findStaleInboundEvents } from '../core/inbound/inbound-events.js';
import { processInboundEvent } from '../core/inbound/process-inbound.js';
import { deliverOutboundMessage, findStaleQueuedMessages, markAbandonedSendsUnknown } from '../core/messages/outbound.js';
import { jobNames, queueNames, type Queues } from './queues.js';

export interface PipelineWorkerDeps {
  db: Db;
  queues: Queues;
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  events: DomainEventPublisher;
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
  adapters: AdapterRegistry;
  concurrency: number;
  inboundMaxAttempts: number;
  conversationWindowMs?: number;
  outboundMaxAttempts: number;
  retryBaseDelayMs: number;
  sweepIntervalMs: number;
  sweepGraceMs: number;
  sendTimeoutMs: number;
  jobLockMs: number;
}

/**
 * Runs the inbound and outbound workers and schedules their sweepers. Workers are thin: they
 * read an id from the job and call one use case in `core/`.
 */
export async function startPipelineWorkers(deps: PipelineWorkerDeps) {
  const { db, queues, logger } = deps;
  const options = {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.concurrency,
    // A job of a worker that died is taken up again once its lock lapses.
    lockDuration: deps.jobLockMs,
    stalledInterval: deps.jobLockMs,
  };

  const inbound = new Worker(
    queueNames.inbound,
    async (job: Job) => {
      if (job.name === jobNames.sweepInbound) {
        const stale = await findStaleInboundEvents(db, deps.sweepGraceMs);
        if (stale.length) logger.warn({ count: stale.length }, 're-enqueueing inbound events that were never processed');
        await queues.enqueueInbound(stale);
        return;
      }
      const { eventId } = job.data as { eventId: string };
      const outcome = await processInboundEvent(
        {
          db,
          loadChannel: deps.loadChannel,
          maxAttempts: deps.inboundMaxAttempts,
          adapters: deps.adapters,
          conversationWindowMs: deps.conversationWindowMs,
        },
        eventId,
      );
      switch (outcome.result) {
        case 'processed':
          await deps.events.publish(outcome.events);
          return;
        case 'retry':
          // Thrown so BullMQ retries with backoff; the attempt is already counted in the row.
          throw outcome.error;
        case 'dead':
          logger.error({ eventId, error: outcome.error }, 'inbound event dead-lettered');
          return;
        case 'skipped':
          return;
      }
    },
    options,
  );

  const outbound = new Worker(
    queueNames.outbound,
    async (job: Job) => {
      if (job.name === jobNames.sweepOutbound) {
        const abandoned = await markAbandonedSendsUnknown(db, deps.sendTimeoutMs + deps.sweepGraceMs);
        if (abandoned) logger.warn({ count: abandoned }, 'messages left mid-send by a stopped worker marked unknown');
        const stale = await findStaleQueuedMessages(db, deps.sweepGraceMs);
        if (stale.length) logger.warn({ count: stale.length }, 're-enqueueing queued messages that were never sent');
        for (const message of stale) await queues.enqueueDelivery(message.id, message.attempts);
        return;
      }
      const { messageId } = job.data as { messageId: string };
      const outcome = await deliverOutboundMessage(
        { db, loadChannel: deps.loadChannel, maxAttempts: deps.outboundMaxAttempts, retryBaseDelayMs: deps.retryBaseDelayMs },
        messageId,
      );
      if (outcome.result === 'retry') {
        await queues.enqueueDelivery(messageId, outcome.attempt, outcome.delayMs);
      } else if (outcome.result !== 'skipped') {
        logger.debug({ messageId, result: outcome.result }, 'delivery finished');
        // Consoles show the reply's bubble turn sent or failed from this instead of asking again.
        await deps.events.publish([{ type: 'message.status', messageId, conversationId: outcome.conversationId, status: outcome.result }]);
      }
    },
    options,
  );

  for (const worker of [inbound, outbound]) {
    worker.on('failed', (job, error) => logger.warn({ queue: worker.name, jobId: job?.id, error: error.message }, 'job failed'));
    worker.on('error', (error) => logger.error({ queue: worker.name, error: error.message }, 'worker error'));
  }

  // Schedulers have fixed ids, so every worker process upserting them still yields one schedule.
  await queues.inbound.upsertJobScheduler('sweep-inbound', { every: deps.sweepIntervalMs }, { name: jobNames.sweepInbound });
  await queues.outbound.upsertJobScheduler('sweep-outbound', { every: deps.sweepIntervalMs }, { name: jobNames.sweepOutbound });

  return {
    /** Stops taking jobs and waits for running ones, at most `timeoutMs`, then abandons them. */
    close: (timeoutMs: number) => Promise.all([closeWithin(inbound, timeoutMs), closeWithin(outbound, timeoutMs)]).then(() => {}),
  };
}

/** Closes a worker gracefully, or abandons its running jobs (to the sweepers) at the deadline. */
export async function closeWithin(worker: Worker, timeoutMs: number): Promise<void> {
  const timedOut = await Promise.race([
    worker.close().then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref()),
  ]);
  if (timedOut) await worker.close(true);
}
