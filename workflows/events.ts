import type { Redis } from 'ioredis';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';

export const eventsChannel = (prefix: string) => `${prefix}:events`;

/** Fans domain events out to every hub process through Redis pub/sub. */
export function createEventPublisher(redis: Redis, prefix: string): DomainEventPublisher {
  return {
    async publish(events: DomainEvent[]) {
      for (const event of events) await redis.publish(eventsChannel(prefix), JSON.stringify(event));
    },
  };
}
