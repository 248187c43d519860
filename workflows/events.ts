import type { Redis } from 'ioredis';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import type { Queues } from './queues.js';

export const eventsChannel = (prefix: string) => `${prefix}:events`;

/**
 * Announces committed domain events: durably to their handlers through the `routing` queue, and
 * to every hub process's live listeners (consoles, widgets) through Redis pub/sub.
 */
export function createEventPublisher(
  redis: Redis,
  prefix: string,
  queues: Queues,
  /** Whether a worker-side handler acts on the event: only those go through the queue. */
  handled: (event: DomainEvent) => boolean,
): DomainEventPublisher {
  return {
    async publish(events: DomainEvent[]) {
      if (!events.length) return;
      await queues.dispatch(events, handled);
      // One round trip for the batch; listeners still get one message per event, in order.
      const pipeline = redis.pipeline();
      for (const event of events) pipeline.publish(eventsChannel(prefix), JSON.stringify(event));
      await pipeline.exec();
    },
  };
}
