import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { signBody } from '../adapters/api/api.adapter.js';
import { recordInboundEvents } from '../core/inbound/inbound-events.js';
import { processInboundEvent } from '../core/inbound/process-inbound.js';
import { eventsChannel } from '../workflows/events.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, testRedisUrl, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

async function count(table: string): Promise<number> {
  const [row] = await hub.runtime.database.query<{ n: number }>(
    (await import('drizzle-orm')).sql.raw(`select count(*)::int as n from ${table}`),
  );
  return row!.n;
}

async function conversationFor(phone: string) {
  const contacts = await hub.runtime.database.query<{ contact_id: string }>(
    (await import('drizzle-orm')).sql`select contact_id from contact_identities where kind = 'phone' and value = ${phone}`,
  );
  if (!contacts[0]) return undefined;
  const list = await hub.api('GET', `/api/v1/conversations?contactId=${contacts[0].contact_id}`);
  return list.body.items[0] as { id: string; contactId: string; lastChannelId: string } | undefined;
}

async function conversationForEmail(email: string) {
  const [row] = await hub.runtime.database.query<{ contact_id: string }>(
    (await import('drizzle-orm')).sql`select contact_id from contact_identities where kind = 'email' and value = ${email}`,
  );
  const list = await hub.api('GET', `/api/v1/conversations?contactId=${row!.contact_id}`);
  return list.body.items[0] as { id: string };
}

async function messagesOf(conversationId: string) {
  const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
  return body.items as Array<{ id: string; text: string; direction: string; status: string; errorCode: string | null }>;
}

describe('API channel, end to end over HTTP', () => {
  it('a signed message creates contact, conversation and message', async () => {
    const response = await hub.postSigned(channel.id, channel.secret, {
      messageId: 'core-1001',
      from: { kind: 'phone', value: '138 0013 8000', name: '王小明' },
      text: '我的信用卡被冻结了',
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ accepted: true, messageId: 'core-1001' });

    const conversation = await waitFor(() => conversationFor('+8613800138000'), 10_000, 'conversation');
    const contact = await hub.api('GET', `/api/v1/contacts/${conversation.contactId}`);
    expect(contact.body.name).toBe('王小明');
    expect(contact.body.identities).toEqual([
      expect.objectContaining({ kind: 'phone', value: '+8613800138000', verified: true }),
    ]);
    expect(conversation.lastChannelId).toBe(channel.id);
    const messages = await messagesOf(conversation.id);
    expect(messages).toEqual([expect.objectContaining({ text: '我的信用卡被冻结了', direction: 'inbound', status: 'received' })]);
  });

  it('the same messageId sent 5 times concurrently yields exactly one message', async () => {
    const message = { messageId: 'core-dup-1', from: { kind: 'phone', value: '+8613900139000' }, text: 'duplicate me' };
    const responses = await Promise.all(Array.from({ length: 5 }, () => hub.postSigned(channel.id, channel.secret, message)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const conversation = await waitFor(() => conversationFor('+8613900139000'), 10_000, 'conversation');
    // Give any stray duplicate job the time to land before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await messagesOf(conversation.id)).map((m) => m.text)).toEqual(['duplicate me']);
    const [events] = await hub.runtime.database.query<{ n: number }>(
      (await import('drizzle-orm')).sql`select count(*)::int as n from inbound_events where dedupe_key = 'core-dup-1'`,
    );
    expect(events!.n).toBe(1);
  });

  it('messages of one customer processed at once make one contact and one conversation', async () => {
    // Stored first, then processed side by side the way the worker's concurrent jobs run them.
    const burst = async (phone: string, label: string) => {
      const events = Array.from({ length: 8 }, (_, i) => ({
        dedupeKey: `core-${label}-${i}`,
        payload: { messageId: `core-${label}-${i}`, from: { kind: 'phone', value: phone, name: '李雷' }, text: `${label} ${i}` },
      }));
      const recorded = await recordInboundEvents(hub.runtime.database.db, channel.id, events);
      const deps = { db: hub.runtime.database.db, loadChannel: (id: string) => hub.runtime.channels.get(id), maxAttempts: 3, adapters: hub.runtime.adapters };
      const outcomes = await Promise.all(recorded.map((r) => processInboundEvent(deps, r.id)));
      expect(outcomes.map((o) => o.result)).toEqual(events.map(() => 'processed'));
      return hub.runtime.database.query<{ contacts: number; conversations: string[] }>(
        (await import('drizzle-orm')).sql`select count(distinct m.contact_id)::int as contacts, array_agg(distinct m.conversation_id::text) as conversations
          from messages m join inbound_events e on e.id = m.inbound_event_id where e.dedupe_key like ${`core-${label}-%`}`,
      );
    };
    // A new customer: the identity's unique index lets one message create the contact.
    const [fresh] = await burst('+8613600136000', 'new');
    expect(fresh!.contacts).toBe(1);
    expect(fresh!.conversations).toHaveLength(1);
    expect(await count(`contacts c where c.name = '李雷' and not exists (select 1 from contact_identities i where i.contact_id = c.id)`)).toBe(0);
    // A known customer without an open conversation: the contact lock lets one message open it.
    expect((await hub.api('POST', `/api/v1/conversations/${fresh!.conversations[0]}/resolve`)).status).toBe(200);
    const [known] = await burst('+8613600136000', 'again');
    expect(known!.contacts).toBe(1);
    expect(known!.conversations).toHaveLength(1);
    expect(known!.conversations[0]).not.toBe(fresh!.conversations[0]);
  });

  it('a missing signature gets 401 and a wrong one 403, and nothing is written', async () => {
    const before = await count('inbound_events');
    const raw = JSON.stringify({ messageId: 'forged-1', from: { kind: 'phone', value: '+8613700137000' }, text: 'hi' });
    const unsigned = await fetch(`${hub.baseUrl}/webhooks/api/${channel.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(unsigned.status).toBe(401);
    expect((await unsigned.json()).error).toMatch(/x-hub-signature-256/);

    const forged = await fetch(`${hub.baseUrl}/webhooks/api/${channel.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody('not-the-channel-secret', raw) },
      body: raw,
    });
    expect(forged.status).toBe(403);

    const tampered = await fetch(`${hub.baseUrl}/webhooks/api/${channel.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(channel.secret, raw) },
      body: raw.replace('hi', 'ho'),
    });
    expect(tampered.status).toBe(403);
    expect(await count('inbound_events')).toBe(before);
  });

  it('a malformed body gets 400 with a message saying what is wrong', async () => {
    const before = await count('inbound_events');
    const notJson = '{"messageId": "x", ';
    const response = await fetch(`${hub.baseUrl}/webhooks/api/${channel.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(channel.secret, notJson) },
      body: notJson,
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toBe('body is not valid JSON');

    const badKind = await hub.postSigned(channel.id, channel.secret, { messageId: 'm-bad', from: { kind: 'fax', value: '1' }, text: 'x' });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error).toMatch(/from\.kind/);

    const badPhone = await hub.postSigned(channel.id, channel.secret, { messageId: 'm-phone', from: { kind: 'phone', value: '12345' }, text: 'x' });
    expect(badPhone.status).toBe(400);
    expect(badPhone.body.error).toMatch(/from\.value: "12345" is not a phone number/);

    const empty = await hub.postSigned(channel.id, channel.secret, { messageId: 'm-empty', from: { kind: 'phone', value: '+8613600136000' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/text or attachments/);
    expect(await count('inbound_events')).toBe(before);
  });

  it('announces the new conversation and message to live listeners after they are stored', async () => {
    const listener = new Redis(testRedisUrl);
    const seen: Array<{ type: string; conversationId?: string; messageId?: string }> = [];
    listener.on('message', (_channel, text: string) => seen.push(JSON.parse(text)));
    await listener.subscribe(eventsChannel(hub.config.REDIS_PREFIX));
    try {
      await hub.postSigned(channel.id, channel.secret, { messageId: 'events-1', from: { kind: 'email', value: 'Zhang@Bank.Example' }, text: 'hi' });
      const created = await waitFor(async () => seen.find((e) => e.type === 'message.created'), 10_000, 'message.created');
      const conversation = await conversationForEmail('zhang@bank.example');
      expect(created.conversationId).toBe(conversation.id);
      // The conversation is announced before its first message; the bot's handover may follow.
      expect(seen.map((e) => e.type).slice(0, 3)).toEqual(['contact.created', 'conversation.opened', 'message.created']);
      const messages = await messagesOf(conversation.id);
      expect(created.messageId).toBe(messages[0]!.id);
    } finally {
      listener.disconnect();
    }
  });

  it('an unknown channel gets 404', async () => {
    const response = await hub.postSigned('6b0d2d4e-0000-4000-8000-000000000000', channel.secret, { messageId: 'x', from: { kind: 'phone', value: '+8613600136000' }, text: 'x' });
    expect(response.status).toBe(404);
  });
});

describe('agent replies through the pipeline', () => {
  async function openConversation(phone: string, messageId: string, target = channel) {
    await hub.postSigned(target.id, target.secret, { messageId, from: { kind: 'phone', value: phone }, text: 'hello' });
    return waitFor(() => conversationFor(phone), 10_000, 'conversation');
  }

  it('reaches the callback with a valid signature and ends sent', async () => {
    const conversation = await openConversation('+8613500135000', 'reply-1');
    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '您好，已为您解冻' });
    expect(reply.status).toBe(202);
    expect(reply.body.status).toBe('queued');

    const sent = await waitFor(async () => {
      const { body } = await hub.api('GET', `/api/v1/messages/${reply.body.id}`);
      return body.status === 'sent' && body;
    }, 10_000, 'sent');
    expect(sent.errorCode).toBeNull();

    const delivered = callback.received.filter((r) => JSON.parse(r.body).messageId === reply.body.id);
    expect(delivered).toHaveLength(1);
    const request = delivered[0]!;
    expect(request.headers['x-hub-signature-256']).toBe(signBody(channel.secret, request.body));
    expect(JSON.parse(request.body)).toMatchObject({
      messageId: reply.body.id,
      conversationId: conversation.id,
      to: { kind: 'phone', value: '+8613500135000' },
      text: '您好，已为您解冻',
    });
  });

  it('a repeated Idempotency-Key returns the first message and sends once', async () => {
    const conversation = await openConversation('+8613400134000', 'reply-idem');
    const headers = { 'idempotency-key': 'agent-click-42' };
    const first = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'once' }, headers);
    const second = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'once' }, headers);
    expect(second.body.id).toBe(first.body.id);
    const changed = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'twice?' }, headers);
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatch(/different reply/);
    await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${first.body.id}`)).body.status === 'sent', 10_000, 'sent');
    expect((await messagesOf(conversation.id)).filter((m) => m.direction === 'outbound')).toHaveLength(1);
  });

  it('a callback answering 500 twice then 200 ends sent after retries, with exactly one 2xx delivery', async () => {
    const flaky = await startCallbackServer([500, 500, 200]);
    try {
      const flakyChannel = await hub.createApiChannel(flaky.url);
      const conversation = await openConversation('+8613300133000', 'flaky-1', flakyChannel);
      const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'retry me' });
      const sent = await waitFor(async () => {
        const { body } = await hub.api('GET', `/api/v1/messages/${reply.body.id}`);
        return body.status === 'sent' && body;
      }, 20_000, 'sent after retries');
      expect(sent.attempts).toBe(3);
      expect(flaky.received.map((r) => r.answered)).toEqual([500, 500, 200]);
      // No further attempt may follow the successful one.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(flaky.received.filter((r) => r.answered === 200)).toHaveLength(1);
    } finally {
      await flaky.close();
    }
  });

  it('a callback that always answers 400 ends failed with the code recorded, without retrying', async () => {
    const rejecting = await startCallbackServer([400]);
    try {
      const rejectingChannel = await hub.createApiChannel(rejecting.url);
      const conversation = await openConversation('+8613200132000', 'reject-1', rejectingChannel);
      const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: 'refused' });
      const failed = await waitFor(async () => {
        const { body } = await hub.api('GET', `/api/v1/messages/${reply.body.id}`);
        return body.status === 'failed' && body;
      }, 10_000, 'failed');
      expect(failed.errorCode).toBe('HTTP_400');
      expect(rejecting.received).toHaveLength(1);
    } finally {
      await rejecting.close();
    }
  });

  it('a reply to an unknown conversation is a 404 and a bad body a 400', async () => {
    const missing = await hub.api('POST', '/api/v1/conversations/6b0d2d4e-0000-4000-8000-000000000000/messages', { text: 'x' });
    expect(missing.status).toBe(404);
    const conversation = await openConversation('+8613100131000', 'bad-reply');
    const empty = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/text/);
  });
});
