import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../core/events.js';
import { handledInWorkers } from '../server/runtime.js';
import { clearRedisPrefix, testRedisUrl } from '../test/support/test-hub.js';
import { createEventPublisher, eventsChannel } from './events.js';
import { createQueues } from './queues.js';

const prefix = `hub-test-events-${randomBytes(4).toString('hex')}`;
const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
const queues = createQueues({ connection: redis, prefix, inboundMaxAttempts: 3, retryBaseDelayMs: 100 });
const publisher = createEventPublisher(redis, prefix, queues, handledInWorkers);
const subscriber = new Redis(testRedisUrl);
const heard: DomainEvent[] = [];

beforeAll(async () => {
  subscriber.on('message', (_channel, text: string) => heard.push(JSON.parse(text) as DomainEvent));
  await subscriber.subscribe(eventsChannel(prefix));
});
afterAll(async () => {
  subscriber.disconnect();
  await queues.close();
  redis.disconnect();
  await clearRedisPrefix(prefix);
});

const ids = () => ({ conversationId: randomUUID(), contactId: randomUUID(), channelId: randomUUID() });

describe('publishing domain events', () => {
  it('queues handler work only for batches a handler acts on, and tells live listeners every event in order', async () => {
    const reply = { type: 'message.created', messageId: randomUUID(), direction: 'outbound', ...ids() } as const;
    const customer = { type: 'message.created', messageId: randomUUID(), direction: 'inbound', ...ids() } as const;
    const status = { type: 'message.status', messageId: reply.messageId, conversationId: reply.conversationId, status: 'sent' } as const;

    await publisher.publish([reply, status]);
    expect(await queues.routing.getJobCounts('waiting')).toEqual({ waiting: 0 });
    // The agent's reply still goes to delivery.
    expect((await queues.outbound.getWaiting()).map((job) => job.data)).toEqual([{ messageId: reply.messageId }]);

    await publisher.publish([{ type: 'contact.created', contactId: customer.contactId }, customer]);
    const [job] = await queues.routing.getWaiting();
    expect(job?.data.events).toEqual([customer]);

    // A customer message after the bot's announced handover leaves the bot nothing to do, but it
    // starts an SLA wait; so does an agent's reply end one (a bot's answer above did not).
    const later = { ...customer, messageId: randomUUID(), afterHandover: true };
    await publisher.publish([later]);
    const agentReply = { ...reply, messageId: randomUUID(), authorKind: 'agent' } as const;
    await publisher.publish([agentReply]);
    const waiting = (await queues.routing.getWaiting()).map((w) => w.data.events);
    expect(waiting).toHaveLength(3);
    expect(waiting).toEqual(expect.arrayContaining([[customer], [later], [agentReply]]));

    await expect.poll(() => heard.length).toBe(6);
    expect(heard.map((e) => e.type)).toEqual(['message.created', 'message.status', 'contact.created', 'message.created', 'message.created', 'message.created']);
  });
});
