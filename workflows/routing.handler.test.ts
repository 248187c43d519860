import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/client.js';
import { contacts, conversations } from '../core/db/schema.js';
import { openTestDatabase } from '../test/support/databases.js';
import { testRedisUrl, waitFor } from '../test/support/test-hub.js';
import { createQueueLengthPublisher, routingChannel } from './routing.handler.js';

const prefix = `hub-test-queue-length-${randomBytes(4).toString('hex')}`;
const redis = new Redis(testRedisUrl);
const subscriber = new Redis(testRedisUrl);
const heard: number[] = [];
let suite: Awaited<ReturnType<typeof openTestDatabase>>;
let database: Database;

beforeAll(async () => {
  suite = await openTestDatabase();
  database = suite.database;
  subscriber.on('message', (_channel, text: string) => heard.push((JSON.parse(text) as { waiting: number }).waiting));
  await subscriber.subscribe(routingChannel(prefix));
});
afterAll(async () => {
  subscriber.disconnect();
  redis.disconnect();
  await suite?.close();
});

async function queueOne() {
  const [contact] = await database.db.insert(contacts).values({ name: 'waiting customer' }).returning({ id: contacts.id });
  await database.db.insert(conversations).values({ contactId: contact!.id, routingStatus: 'queued', queuedAt: new Date() });
}

describe('publishing the queue length', () => {
  it('shares counts among changes made meanwhile, and always publishes a count taken after the last change', async () => {
    const publish = createQueueLengthPublisher(database.db, redis, prefix);
    await queueOne();
    // One count starts; the nine changes announced while it runs share one more.
    await Promise.all(Array.from({ length: 10 }, () => publish()));
    await waitFor(async () => heard.length >= 2, 5_000, 'two counts');
    expect(heard).toEqual([1, 1]);

    // A change made while a count runs is in the number published after it.
    const first = publish();
    await queueOne();
    await Promise.all([first, publish()]);
    await waitFor(async () => heard.at(-1) === 2, 5_000, 'the count after the last change');
  });
});
