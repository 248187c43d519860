import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../core/db/client.js';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import { applySlaEvent, findDueTimers, fireSlaTimer, slaTimerJobId, slaWants, type SlaTimer } from '../core/sla/sla-clocks.js';
import type { DomainEventHandler } from './domain-events.worker.js';
import { queueNames } from './queues.js';
import { routingChannel } from './routing.handler.js';

export const slaJobNames = { timer: 'sla.timer', sweep: 'sla.sweep' } as const;

/** Schedules SLA timers as delayed jobs on the `sla` queue, one deterministic id per clock state. */
export function createSlaTimers(queue: Queue) {
  return async (timers: SlaTimer[]) => {
    if (!timers.length) return;
    const now = Date.now();
    await queue.addBulk(
      timers.map((timer) => ({
        name: slaJobNames.timer,
        data: { conversationId: timer.conversationId, target: timer.target, cycle: timer.cycle, kind: timer.kind },
        opts: { jobId: slaTimerJobId(timer), delay: Math.max(0, timer.at.getTime() - now), removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: 'exponential', delay: 200 } },
      })),
    );
  };
}

export interface SlaDeps {
  db: Db;
  queue: Queue;
  redis: Redis;
  prefix: string;
  events: DomainEventPublisher;
  logger: Logger;
}

/** Moves SLA clocks on committed domain events and schedules what they now owe. */
export function createSlaHandler(deps: SlaDeps): DomainEventHandler {
  const schedule = createSlaTimers(deps.queue);
  return async (event: DomainEvent) => {
    if (slaWants(event)) await schedule(await applySlaEvent(deps.db, event));
  };
}

/** Runs due timers and the sweeper that rebuilds timers Redis lost, on the `sla` queue. */
export function startSlaWorker(deps: SlaDeps & { connection: ConnectionOptions; concurrency: number; lockMs: number; horizonMs: number }) {
  const schedule = createSlaTimers(deps.queue);
  const worker = new Worker(
    queueNames.sla,
    async (job: Job) => {
      if (job.name === slaJobNames.sweep) {
        const timers = await findDueTimers(deps.db, deps.horizonMs);
        // Re-adding a pending job id is a no-op; a recorded warning or breach makes a re-run one a no-op too.
        await schedule(timers);
        return;
      }
      if (job.name !== slaJobNames.timer) return;
      const outcome = await fireSlaTimer(deps.db, job.data as Omit<SlaTimer, 'at'>);
      if ('retryAt' in outcome) {
        await schedule([{ ...(job.data as Omit<SlaTimer, 'at'>), at: outcome.retryAt }]);
        return;
      }
      if (!('fired' in outcome)) return;
      const { fired } = outcome;
      deps.logger.info({ conversationId: fired.event.conversationId, target: fired.event.target, type: fired.event.type, lateMs: fired.lateMs }, 'sla event recorded');
      if (fired.notify || fired.event.type === 'sla.warning') await deps.events.publish([fired.event]);
      // Consoles re-read the conversation (its priority and place in line moved).
      if (fired.priorityRaised) {
        await deps.redis.publish(routingChannel(deps.prefix), JSON.stringify({ type: 'conversation.changed', conversationId: fired.event.conversationId }));
      }
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockMs, stalledInterval: deps.lockMs },
  );
  worker.on('failed', (job, error) => deps.logger.warn({ jobId: job?.id, error: error.message }, 'sla job failed'));
  worker.on('error', (error) => deps.logger.error({ error: error.message }, 'sla worker error'));
  return worker;
}
