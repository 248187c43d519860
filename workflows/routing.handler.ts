import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../core/db/client.js';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import { announceAssignments, countWaiting, type RoutingDeps, type RoutingOutcome } from '../core/routing/assign-conversations.js';
import { handOverConversation, sweepRouting } from '../core/routing/routing-actions.js';
import type { DomainEventHandler } from './domain-events.worker.js';

/** Redis pub/sub channel of routing notices; every hub process's agent sockets listen to it. */
export const routingChannel = (prefix: string) => `${prefix}:routing`;

export interface RoutingPublisherDeps {
  routing: RoutingDeps;
  redis: Redis;
  prefix: string;
  events: DomainEventPublisher;
  /** This process's publisher of the queue's length (createQueueLengthPublisher). */
  publishQueueLength: () => Promise<void>;
}

/**
 * Publishes the queue's length after this process changed the queue. Busy routing changes it
 * many times a second and every count is a statement, so at most one count runs at a time:
 * changes made while one runs share a single count after it, and the last number published is
 * always counted after the last change. The returned promise settles once a count taken after
 * the call is published. Each process counts after its own changes.
 */
export function createQueueLengthPublisher(db: Db, redis: Redis, prefix: string): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = () => {
    running = (async () => {
      await redis.publish(routingChannel(prefix), JSON.stringify({ type: 'queue.changed', waiting: await countWaiting(db) }));
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  return () => {
    if (next) return next;
    if (!running) return start();
    // The running count may have been taken before the caller's change.
    next = running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}

/**
 * Announces what a committed routing change did: queue-position messages go to delivery, and
 * consoles on every hub process hear of assignments (with the customer's latest messages) and of
 * the queue's new length.
 */
export async function publishRoutingOutcome(deps: RoutingPublisherDeps, outcome: RoutingOutcome): Promise<void> {
  await deps.events.publish(outcome.events);
  const channel = routingChannel(deps.prefix);
  for (const notice of await announceAssignments(deps.routing.db, outcome.notices)) {
    if (notice.type !== 'queue.changed') await deps.redis.publish(channel, JSON.stringify(notice));
  }
  if (outcome.notices.some((n) => n.type === 'queue.changed')) await deps.publishQueueLength();
}

/** Takes handed-over conversations into routing. */
export function createRoutingHandler(deps: RoutingPublisherDeps): DomainEventHandler {
  return async (event) => {
    if (routingWants(event)) await publishRoutingOutcome(deps, await handOverConversation(deps.routing, event));
  };
}

/** Routing acts on handovers. */
export function routingWants(event: DomainEvent): event is Extract<DomainEvent, { type: 'conversation.handover' }> {
  return event.type === 'conversation.handover';
}

/** The routing sweeper's job: repairs lost handovers and wake-ups, sends due queue notices. */
export function createRoutingSweep(deps: RoutingPublisherDeps & { graceMs: number; logger: Logger }) {
  return async () => {
    const outcome = await sweepRouting(deps.routing, deps.graceMs);
    const assigned = outcome.notices.filter((n) => n.type === 'conversation.assigned').length;
    if (assigned) deps.logger.info({ assigned }, 'routing sweeper assigned waiting conversations');
    await publishRoutingOutcome(deps, outcome);
  };
}
