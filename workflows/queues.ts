import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { DomainEvent } from '../core/events.js';

/** Queue names are part of the stored state in Redis: named once here and never renamed. */
export const queueNames = {
  inbound: 'inbound',
  outbound: 'outbound',
  routing: 'routing',
  sla: 'sla',
  campaigns: 'campaigns',
} as const;

export const jobNames = {
  processInbound: 'inbound.process',
  sweepInbound: 'inbound.sweep',
  deliverOutbound: 'outbound.deliver',
  sweepOutbound: 'outbound.sweep',
  domainEvent: 'routing.event',
  sweepRouting: 'routing.sweep',
} as const;

export interface QueueSettings {
  connection: ConnectionOptions;
  prefix: string;
  inboundMaxAttempts: number;
  retryBaseDelayMs: number;
}

// The database holds every state machine; a job only carries an id. Finished jobs are dropped so
// the sweeper can enqueue the same deterministic job id again when it has to.
const common: JobsOptions = { removeOnComplete: true, removeOnFail: true };

export function createQueues(settings: QueueSettings) {
  const options = { connection: settings.connection, prefix: settings.prefix };
  const inbound = new Queue(queueNames.inbound, options);
  const outbound = new Queue(queueNames.outbound, options);
  const routing = new Queue(queueNames.routing, options);
  /** SLA timers (delayed jobs) and their sweeper. */
  const sla = new Queue(queueNames.sla, options);
  /** Campaign runs, recipients and schedules (workflows/campaign.worker.ts). */
  const campaigns = new Queue(queueNames.campaigns, options);
  return {
    inbound,
    outbound,
    routing,
    sla,
    campaigns,
    /**
     * Hands committed domain events that a handler acts on (bot, routing, SLA) to the handlers,
     * and queues delivery of outbound messages the events announce. Re-handing the same batch
     * is a no-op while its job is pending.
     */
    async dispatch(all: DomainEvent[], handled: (event: DomainEvent) => boolean): Promise<void> {
      for (const event of all) {
        if (event.type === 'message.created' && event.direction === 'outbound') {
          await this.enqueueDelivery(event.messageId, 0);
        }
      }
      const events = all.filter(handled);
      if (!events.length) return;
      // One job per batch (what one transaction made true), keyed by its events.
      await routing.add(
        jobNames.domainEvent,
        { events },
        {
          ...common,
          jobId: `ev-${createHash('sha1').update(events.map((e) => `${e.type}:${eventKey(e)}`).join('|')).digest('hex')}`,
          attempts: 5,
          backoff: { type: 'exponential', delay: settings.retryBaseDelayMs },
        },
      );
    },
    /** Enqueues processing of stored inbound events; re-adding a waiting job id is a no-op. */
    async enqueueInbound(eventIds: string[]): Promise<void> {
      const job = (id: string) => ({
        name: jobNames.processInbound,
        data: { eventId: id },
        opts: {
          ...common,
          jobId: `in-${id}`,
          attempts: settings.inboundMaxAttempts,
          backoff: { type: 'exponential' as const, delay: settings.retryBaseDelayMs },
        },
      });
      // A webhook stores one event: a plain add skips the pipeline a bulk add builds.
      if (eventIds.length === 1) {
        const { name, data, opts } = job(eventIds[0]!);
        await inbound.add(name, data, opts);
      } else if (eventIds.length) {
        await inbound.addBulk(eventIds.map(job));
      }
    },
    /** Enqueues one delivery attempt; the attempt number (or key) keeps a retry's job id distinct. */
    async enqueueDelivery(messageId: string, attempt: number | string, delayMs = 0): Promise<void> {
      await outbound.add(
        jobNames.deliverOutbound,
        { messageId },
        { ...common, jobId: `out-${messageId}-${attempt}`, delay: delayMs, attempts: 5, backoff: { type: 'exponential', delay: settings.retryBaseDelayMs } },
      );
    },
    async close(): Promise<void> {
      await Promise.all([inbound.close(), outbound.close(), routing.close(), sla.close(), campaigns.close()]);
    },
  };
}
export type Queues = ReturnType<typeof createQueues>;

function eventKey(event: DomainEvent): string {
  switch (event.type) {
    case 'contact.created':
      return event.contactId;
    case 'contact.merged':
    case 'contact.merge_undone':
      return event.mergeId;
    case 'conversation.opened':
    case 'conversation.handover':
    case 'conversation.reopened':
      return event.conversationId;
    case 'conversation.resolved':
      return `${event.conversationId}-${event.resolvedBy}`;
    case 'sla.warning':
    case 'sla.breached':
      return `${event.conversationId}-${event.target}-${event.dueAt}`;
    case 'message.created':
      return event.messageId;
    case 'message.status':
      return `${event.messageId}-${event.status}`;
  }
}
