import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundEvents, messages } from '../core/db/schema.js';
import { recordInboundEvents } from '../core/inbound/inbound-events.js';
import { queueOutboundMessage } from '../core/messages/outbound.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub({ overrides: { INBOUND_MAX_ATTEMPTS: '2' } });
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

const db = () => hub.runtime.database.db;

async function openConversation(phone: string, messageId: string): Promise<string> {
  await hub.postSigned(channel.id, channel.secret, { messageId, from: { kind: 'phone', value: phone }, text: 'hello' });
  return waitFor(async () => {
    const [row] = await db().select({ id: messages.conversationId }).from(messages).innerJoin(inboundEvents, eq(inboundEvents.id, messages.inboundEventId)).where(eq(inboundEvents.dedupeKey, messageId));
    return row?.id;
  }, 10_000, 'conversation');
}

describe('the sweepers recover what a lost queue write left behind', () => {
  it('an inbound event committed without its job is processed after the grace period', async () => {
    // As if Redis lost the job right after the event row was committed.
    const [event] = await recordInboundEvents(db(), channel.id, [
      { dedupeKey: 'lost-job-1', payload: { messageId: 'lost-job-1', from: { kind: 'phone', value: '+8613800000011' }, text: '没有任务的消息' } },
    ]);
    const message = await waitFor(async () => {
      const [row] = await db().select().from(messages).where(eq(messages.inboundEventId, event!.id));
      return row;
    }, 15_000, 'the swept message');
    expect(message.text).toBe('没有任务的消息');
  });

  it('a queued reply without its job is sent after the grace period, once', async () => {
    const conversationId = await openConversation('+8613800000012', 'lost-out-1');
    const queued = await db().transaction((tx) =>
      queueOutboundMessage(tx, hub.runtime.adapters, { conversationId, authorKind: 'agent', text: 'sent by the sweeper' }),
    );
    const sent = await waitFor(async () => {
      const [row] = await db().select().from(messages).where(eq(messages.id, queued.id));
      return row?.status === 'sent' && row;
    }, 15_000, 'the swept delivery');
    expect(sent.attempts).toBe(1);
    expect(callback.received.filter((r) => JSON.parse(r.body).messageId === queued.id)).toHaveLength(1);
  });

  it('a message left mid-send by a dead worker becomes unknown and is never re-sent', async () => {
    const conversationId = await openConversation('+8613800000013', 'abandoned-1');
    const queued = await db().transaction((tx) =>
      queueOutboundMessage(tx, hub.runtime.adapters, { conversationId, authorKind: 'agent', text: 'maybe delivered' }),
    );
    // As a worker leaves it when it dies after claiming the message and sending the request.
    await db()
      .update(messages)
      .set({ status: 'sending', attempts: 1, updatedAt: sql`now() - interval '1 hour'` })
      .where(eq(messages.id, queued.id));
    const unknown = await waitFor(async () => {
      const [row] = await db().select().from(messages).where(eq(messages.id, queued.id));
      return row?.status === 'unknown' && row;
    }, 15_000, 'unknown status');
    expect(unknown.errorCode).toBe('unknown_outcome');
    expect(callback.received.filter((r) => JSON.parse(r.body).messageId === queued.id)).toHaveLength(0);
  });
});

describe('dead letters', () => {
  it('an event that keeps failing is dead-lettered with its error, and an admin can retry it', async () => {
    const [event] = await recordInboundEvents(db(), channel.id, [{ dedupeKey: 'poison-1', payload: { corrupted: true } }]);
    await hub.runtime.queues.enqueueInbound([event!.id]);
    const dead = await waitFor(async () => {
      const { body } = await hub.api('GET', '/api/v1/inbound-events?status=dead');
      return body.items.find((e: { id: string }) => e.id === event!.id);
    }, 20_000, 'dead letter');
    expect(dead.attempts).toBe(2);
    expect(dead.error).toMatch(/Cannot read properties of undefined/);

    // The cause is fixed (here: the payload repaired), then the admin puts it back in line.
    await db()
      .update(inboundEvents)
      .set({ payload: { messageId: 'poison-1', from: { kind: 'phone', value: '+8613800000014' }, text: 'repaired' } })
      .where(eq(inboundEvents.id, event!.id));
    const retry = await hub.api('POST', `/api/v1/inbound-events/${event!.id}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ requeued: true });
    const message = await waitFor(async () => {
      const [row] = await db().select().from(messages).where(eq(messages.inboundEventId, event!.id));
      return row;
    }, 15_000, 'the retried message');
    expect(message.text).toBe('repaired');
    const again = await hub.api('POST', `/api/v1/inbound-events/${event!.id}/retry`);
    expect(again.body).toEqual({ requeued: false });
  });
});
