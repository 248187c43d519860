import { and, desc, eq, inArray, lt, max, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { readAttachment } from '../attachments/attachment-store.js';
import type { LoadedChannel } from '../channels/channel-service.js';
import type { ChannelType, AdapterRegistry, SendResult } from '../channels/contract.js';
import { currentConsent, recordConsentChange } from '../consents/consents.js';
import { queryRows, type Db } from '../db/client.js';
import { attachments, channels, contactIdentities, conversations, messages, type ContentKind } from '../db/schema.js';
import { badRequest, conflict, HubError, notFound } from '../errors.js';
import { describeError } from '../log-safety.js';
import { parseInput } from '../validation.js';

/**
 * Why a message is sent. Marketing is never delivered to a contact who opted out of the channel;
 * transactional messages (answers to the customer, account notices) are. Stored as `payload.category`.
 */
export const messageCategories = ['transactional', 'marketing'] as const;
export type MessageCategory = (typeof messageCategories)[number];

export const replyInput = z.object({
  text: z.string().trim().min(1, 'text must not be empty').max(20_000),
  /** An offer an agent adds is `marketing`; a reply is transactional when left out. */
  category: z.enum(messageCategories).optional(),
  /** Send on this channel instead of the one the customer last wrote from. */
  channelId: z.uuid().optional(),
});

type MessageRow = typeof messages.$inferSelect;

export interface ReplyDeps {
  db: Db;
  adapters: AdapterRegistry;
}

/**
 * Queues an agent's reply: the message row is the durable record of the intent to send, written
 * before any job exists.
 */
export async function queueAgentReply(
  deps: ReplyDeps,
  params: { conversationId: string; authorId: string; idempotencyKey?: string | undefined; input: unknown },
): Promise<{ message: MessageRow; created: boolean }> {
  const input = parseInput(replyInput, params.input);
  return queueAgentMessage(
    deps,
    { ...params, kind: 'reply' },
    { channelId: input.channelId, text: input.text, category: input.category },
    (previous) => previous.text === input.text,
  );
}

/**
 * Queues a message an agent sends (a reply, a template message). With an idempotency key, scoped
 * to the agent and the kind of message, a retried request returns the first message; the key
 * reused for another conversation or other content is a 409.
 */
export async function queueAgentMessage(
  deps: ReplyDeps,
  request: { conversationId: string; authorId: string; idempotencyKey?: string | undefined; kind: string },
  draft: Omit<OutboundDraft, 'conversationId' | 'authorKind' | 'authorId' | 'idempotencyKey'>,
  sameContent: (previous: MessageRow) => boolean,
): Promise<{ message: MessageRow; created: boolean }> {
  const idempotencyKey = request.idempotencyKey ? `${request.kind}:${request.authorId}:${request.idempotencyKey}` : undefined;
  return deps.db.transaction(async (tx) => {
    if (idempotencyKey) {
      const [previous] = await tx.select().from(messages).where(eq(messages.idempotencyKey, idempotencyKey));
      if (previous) {
        if (previous.conversationId !== request.conversationId || !sameContent(previous)) {
          throw conflict(`this Idempotency-Key was already used for a different ${request.kind}`);
        }
        return { message: previous, created: false };
      }
    }
    const message = await queueOutboundMessage(tx, deps.adapters, {
      ...draft,
      conversationId: request.conversationId,
      authorKind: 'agent',
      authorId: request.authorId,
      idempotencyKey,
    });
    return { message, created: true };
  });
}

export interface OutboundDraft {
  conversationId: string;
  /** Defaults to the channel the customer last wrote from. */
  channelId?: string | undefined;
  authorKind: 'agent' | 'bot' | 'system';
  authorId?: string | undefined;
  contentKind?: ContentKind;
  text: string | null;
  payload?: Record<string, unknown>;
  /** Transactional when left out. */
  category?: MessageCategory | undefined;
  /** Makes a repeated cause (a retried job, a re-run rule) queue one message; random when absent. */
  idempotencyKey?: string | undefined;
}

/** What queueing a message reads of its conversation while holding the row's lock. */
export const lockedConversationColumns = { contactId: conversations.contactId, lastChannelId: conversations.lastChannelId };
export type LockedConversation = Pick<typeof conversations.$inferSelect, keyof typeof lockedConversationColumns>;

/**
 * Appends a `queued` outbound message inside the caller's transaction (agent reply, bot answer,
 * queue-position notice, campaign). The caller enqueues `outbound.deliver` after commit; if that
 * enqueue is lost, the sweeper sends it. Returns the existing row when the key was used already.
 * A caller that already locked the conversation's row in this transaction passes what it read
 * of it (`lockedConversationColumns`), sparing a second lock and read.
 */
export async function queueOutboundMessage(tx: Db, adapters: AdapterRegistry, draft: OutboundDraft, locked?: LockedConversation): Promise<MessageRow> {
  if (draft.idempotencyKey) {
    const [previous] = await tx.select().from(messages).where(eq(messages.idempotencyKey, draft.idempotencyKey));
    if (previous) return previous;
  }
  const conversation = locked ?? (await lockConversation(tx, draft.conversationId));
  const channelId = draft.channelId ?? conversation.lastChannelId;
  if (!channelId) throw badRequest('the conversation has no channel to reply on; pass channelId');
  const [channel] = await tx.select(channelWithLastIdentity(conversation.contactId)).from(channels).where(eq(channels.id, channelId));
  if (!channel) throw notFound('channel', channelId);
  if (!channel.enabled) throw new HubError(409, 'channel_disabled', `channel ${channel.name} is disabled`);
  const identityId = await pickRecipient(tx, adapters, conversation.contactId, channel);
  await checkReachable(tx, adapters, conversation.contactId, channel, draft.contentKind ?? 'text');

  // The conversation's last-message time moves in the same statement as the insert.
  const touched = tx.$with('touched').as(
    tx.update(conversations).set({ lastMessageAt: sql`now()`, updatedAt: sql`now()` }).where(eq(conversations.id, draft.conversationId)).returning({ id: conversations.id }),
  );
  const [message] = await tx
    .with(touched)
    .insert(messages)
    .values({
      conversationId: draft.conversationId,
      contactId: conversation.contactId,
      channelId,
      identityId,
      direction: 'outbound',
      authorKind: draft.authorKind,
      authorId: draft.authorId ?? null,
      contentKind: draft.contentKind ?? 'text',
      text: draft.text,
      payload: { ...draft.payload, ...(draft.category ? { category: draft.category } : {}) },
      status: 'queued',
      idempotencyKey: draft.idempotencyKey ?? `out:${crypto.randomUUID()}`,
    })
    .returning();
  return message!;
}

async function lockConversation(tx: Db, id: string): Promise<LockedConversation> {
  const [conversation] = await tx.select(lockedConversationColumns).from(conversations).where(eq(conversations.id, id)).for('update');
  if (!conversation) throw notFound('conversation', id);
  return conversation;
}

/** Refuses a message the channel would not deliver now (e.g. outside WeChat's 48-hour window). */
async function checkReachable(
  tx: Db,
  adapters: AdapterRegistry,
  contactId: string,
  channel: ChannelRow,
  contentKind: ContentKind,
): Promise<void> {
  const adapter = adapters[channel.type as ChannelType];
  if (!adapter?.canReachNow) return;
  const [last] = await tx
    .select({ at: max(messages.createdAt) })
    .from(messages)
    .where(and(eq(messages.contactId, contactId), eq(messages.channelId, channel.id), eq(messages.direction, 'inbound')));
  const verdict = adapter.canReachNow({ lastInboundAt: last?.at ?? null, contentKind, now: new Date() });
  if (!verdict.ok) throw new HubError(409, 'channel_window_closed', verdict.reason);
}

/** What choosing a recipient on a channel needs of it (not its config and secrets). */
const channelColumns = { id: channels.id, type: channels.type, name: channels.name, enabled: channels.enabled };
type ChannelRow = Pick<typeof channels.$inferSelect, keyof typeof channelColumns>;
/** A channel with the identity the contact last wrote from on it, if any. */
type ChannelForContact = ChannelRow & { lastIdentityId: string | null };

/**
 * Selects what choosing a recipient needs of a channel, and the identity the contact last wrote
 * from on it, so the recipient is usually known from the channel's own read.
 */
function channelWithLastIdentity(contactId: string) {
  return {
    ...channelColumns,
    // SQL text rather than a built subquery: every message queued reads it. (Its outer column is
    // written out: the builder names columns of a one-table select without their table.)
    lastIdentityId: sql<string | null>`(select m.identity_id from messages m join contact_identities i on i.id = m.identity_id
      where m.contact_id = ${contactId} and m.channel_id = channels.id and m.direction = 'inbound' and i.contact_id = ${contactId}
      order by m.seq desc limit 1)`,
  };
}

/** Like findRecipient, for a message that must go out: no reachable identity is the caller's error. */
async function pickRecipient(tx: Db, adapters: AdapterRegistry, contactId: string, channel: ChannelForContact): Promise<string> {
  const identityId = await findRecipient(tx, adapters, contactId, channel);
  if (!identityId) throw new HubError(422, 'unreachable', `the contact has no identity that channel ${channel.name} can reach`);
  return identityId;
}

/**
 * The identity a message on this channel goes to: the one the customer last wrote from on it,
 * else any identity of a kind the channel can reach (scoped kinds only within this channel).
 */
async function findRecipient(tx: Db, adapters: AdapterRegistry, contactId: string, channel: ChannelForContact): Promise<string | undefined> {
  if (channel.lastIdentityId) return channel.lastIdentityId;

  const reachable = adapters[channel.type as ChannelType]?.reachableKinds ?? [];
  const candidates = reachable.length
    ? await tx
        .select({ id: contactIdentities.id })
        .from(contactIdentities)
        .where(
          and(
            eq(contactIdentities.contactId, contactId),
            inArray(contactIdentities.kind, [...reachable]),
            or(eq(contactIdentities.scope, ''), eq(contactIdentities.scope, channel.id)),
          ),
        )
        .orderBy(desc(contactIdentities.verified), desc(contactIdentities.createdAt))
        .limit(1)
    : [];
  return candidates[0]?.id;
}

/**
 * The enabled channels a reply in this conversation can go out on, each with the identity it
 * would reach, the one the customer last wrote from marked `last`.
 */
export async function listReachableChannels(deps: ReplyDeps, conversationId: string) {
  const [conversation] = await deps.db.select().from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) throw notFound('conversation', conversationId);
  const enabled = await deps.db.select(channelWithLastIdentity(conversation.contactId)).from(channels).where(eq(channels.enabled, true)).orderBy(channels.name);
  const items = [];
  for (const channel of enabled) {
    const identityId = await findRecipient(deps.db, deps.adapters, conversation.contactId, channel);
    if (!identityId) continue;
    const [identity] = await deps.db
      .select({ id: contactIdentities.id, kind: contactIdentities.kind, value: contactIdentities.value, verified: contactIdentities.verified })
      .from(contactIdentities)
      .where(eq(contactIdentities.id, identityId));
    items.push({ channelId: channel.id, name: channel.name, type: channel.type, last: channel.id === conversation.lastChannelId, identity });
  }
  return { lastChannelId: conversation.lastChannelId, seenChannelIds: conversation.seenChannelIds, items };
}

export interface DeliveryDeps {
  db: Db;
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
  maxAttempts: number;
  retryBaseDelayMs: number;
}

export type DeliveryOutcome =
  | { result: 'skipped'; reason: string }
  /** `conversationId`: for announcing the new status to whoever follows the conversation. */
  | { result: 'sent' | 'failed' | 'unknown'; conversationId: string }
  /** `attempt` keeps the retry's job id distinct from the job that ran this one. */
  | { result: 'retry'; attempt: number | string; delayMs: number };

/**
 * Delivers one queued message through its channel's adapter. The message is first claimed
 * (`queued → sending`) in its own statement, so two jobs for one message send it once; the
 * outcome is then recorded from the adapter's answer. A worker that dies mid-send leaves the
 * message `sending`, which the sweeper turns into `unknown`: it is never re-sent blindly.
 */
export async function deliverOutboundMessage(deps: DeliveryDeps, messageId: string): Promise<DeliveryOutcome> {
  const message = await claimForSending(deps.db, messageId);
  if (!message) return { result: 'skipped', reason: 'not queued or not due' };

  const result = await attemptSend(deps, message);
  const spent = !(result.outcome === 'retryable' && result.spendsAttempt === false);
  if (result.outcome === 'retryable' && (!spent || message.attempts < deps.maxAttempts)) {
    const delayMs = result.retryAfterMs ?? backoffDelay(deps.retryBaseDelayMs, message.attempts);
    const nextAttemptAt = new Date(Date.now() + delayMs);
    await finish(deps.db, message.id, {
      status: 'queued',
      errorCode: result.code,
      errorMessage: result.message,
      nextAttemptAt,
      // A provider asking to slow down is not a failed attempt: the claim's count is given back.
      ...(spent ? {} : { attempts: message.attempts - 1 }),
    });
    // Without a spent attempt the number repeats, so the time tells the next job apart.
    return { result: 'retry', attempt: spent ? message.attempts : `${message.attempts - 1}-at-${nextAttemptAt.getTime()}`, delayMs };
  }
  switch (result.outcome) {
    case 'sent':
      await finish(deps.db, message.id, {
        status: 'sent',
        providerMessageId: result.providerMessageId ?? null,
        sentAt: new Date(),
        errorCode: null,
        errorMessage: null,
      });
      return { result: 'sent', conversationId: message.conversationId };
    case 'unknown':
      await finish(deps.db, message.id, { status: 'unknown', errorCode: 'unknown_outcome', errorMessage: result.message });
      return { result: 'unknown', conversationId: message.conversationId };
    case 'retryable':
      await finish(deps.db, message.id, {
        status: 'failed',
        errorCode: result.code,
        errorMessage: `gave up after ${message.attempts} attempts: ${result.message}`,
      });
      return { result: 'failed', conversationId: message.conversationId };
    case 'permanent':
      await deps.db.transaction(async (tx) => {
        await finish(tx, message.id, { status: 'failed', errorCode: result.code, errorMessage: result.message });
        if (result.optOut) {
          await recordConsentChange(tx, { contactId: message.contactId, channelId: message.channelId, status: 'opted_out', source: result.optOut.source });
        }
      });
      return { result: 'failed', conversationId: message.conversationId };
  }
}

/** A message claimed for sending, with what sending needs besides it. */
interface ClaimedMessage extends Pick<MessageRow, 'id' | 'conversationId' | 'contactId' | 'channelId' | 'contentKind' | 'text' | 'payload' | 'attempts'> {
  recipient: Pick<typeof contactIdentities.$inferSelect, 'kind' | 'value'> | null;
  suppressedCode: string | null;
  inReplyTo: { providerMessageId: string | null; payload: Record<string, unknown> } | null;
  hasAttachments: boolean;
}

/**
 * Claims a due queued message (`queued → sending`) and reads, in the same statement, what sending
 * needs besides it, so a delivery costs two statements (claim, outcome) when there is nothing
 * more to fetch: the recipient, its suppression, the customer message it follows (channels that
 * thread replies need its provider id), and whether attachments are to be read. Written as SQL:
 * every delivery runs it, and the query builder took longer to assemble it than to run it.
 */
async function claimForSending(db: Db, messageId: string): Promise<ClaimedMessage | undefined> {
  const [message] = await queryRows<ClaimedMessage>(
    db,
    sql`update messages m set status = 'sending', attempts = m.attempts + 1, updated_at = now()
      where m.id = ${messageId} and m.status = 'queued' and (m.next_attempt_at is null or m.next_attempt_at <= now())
      returning m.id, m.conversation_id as "conversationId", m.contact_id as "contactId", m.channel_id as "channelId",
        m.content_kind as "contentKind", m.text, m.payload, m.attempts,
        (select jsonb_build_object('kind', i.kind, 'value', i.value) from contact_identities i where i.id = m.identity_id) as recipient,
        (select s.code from suppressions s where s.channel_id = m.channel_id and s.identity_id = m.identity_id) as "suppressedCode",
        (select jsonb_build_object('providerMessageId', e.provider_message_id, 'payload', e.payload) from messages e
          where e.conversation_id = m.conversation_id and e.channel_id = m.channel_id and e.direction = 'inbound' and e.seq < m.seq
          order by e.seq desc limit 1) as "inReplyTo",
        exists (select 1 from attachments a where a.message_id = m.id) as "hasAttachments"`,
  );
  return message;
}

async function attemptSend(deps: DeliveryDeps, message: ClaimedMessage): Promise<SendResult> {
  const channel = await deps.loadChannel(message.channelId);
  if (!channel) return { outcome: 'permanent', code: 'channel_missing', message: 'the channel no longer exists' };
  if (!channel.row.enabled) return { outcome: 'permanent', code: 'channel_disabled', message: 'the channel is disabled' };
  // Checked at delivery, not when queued: a campaign queued yesterday must respect today's STOP.
  if (message.payload.category === 'marketing' && (await currentConsent(deps.db, message.contactId, message.channelId)) === 'opted_out') {
    return { outcome: 'permanent', code: 'opted_out', message: 'the contact opted out of this channel; only transactional messages reach them' };
  }
  const { recipient, inReplyTo } = message;
  if (!recipient) return { outcome: 'permanent', code: 'no_recipient', message: 'the message has no recipient identity' };
  if (message.suppressedCode !== null) {
    return {
      outcome: 'permanent',
      code: 'recipient_suppressed',
      message: `${recipient.value} is suppressed on this channel after a permanent failure (${message.suppressedCode})`,
    };
  }
  const files = message.hasAttachments
    ? await deps.db
        .select({ data: attachments.data, contentType: attachments.contentType, fileName: attachments.fileName })
        .from(attachments)
        .where(eq(attachments.messageId, message.id))
    : [];
  try {
    return await channel.adapter.send(
      {
        id: message.id,
        conversationId: message.conversationId,
        contentKind: message.contentKind,
        text: message.text,
        payload: message.payload,
        recipient,
        ...(inReplyTo?.providerMessageId ? { inReplyTo: { providerMessageId: inReplyTo.providerMessageId, payload: inReplyTo.payload } } : {}),
        ...(files.length ? { attachments: files } : {}),
      },
      channel.context,
      { readAttachment: (id) => readAttachment(deps.db, id) },
    );
  } catch (error) {
    // An adapter that throws may have sent the request already.
    return { outcome: 'unknown', message: `adapter error: ${describeError(error)}` };
  }
}

/** Only a message this delivery claimed is updated: a receipt that raced ahead is not undone. */
async function finish(db: Db, id: string, set: Partial<typeof messages.$inferInsert>): Promise<void> {
  await db
    .update(messages)
    .set({ ...set, updatedAt: sql`now()` })
    .where(and(eq(messages.id, id), eq(messages.status, 'sending')));
}

/** Exponential backoff with jitter (half fixed, half random), capped at an hour, so retries after an outage spread out. */
export function backoffDelay(baseMs: number, attempt: number): number {
  const ceiling = Math.min(3_600_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Queued messages whose job may be lost: due for more than the grace period and still queued. */
export async function findStaleQueuedMessages(db: Db, graceMs: number, limit = 500) {
  return db
    .select({ id: messages.id, attempts: messages.attempts })
    .from(messages)
    .where(
      and(
        eq(messages.status, 'queued'),
        lt(sql`coalesce(${messages.nextAttemptAt}, ${messages.updatedAt})`, sql`now() - make_interval(secs => ${graceMs / 1000})`),
      ),
    )
    .limit(limit);
}

/** Messages left `sending` by a worker that died mid-request: the outcome is unknown. */
export async function markAbandonedSendsUnknown(db: Db, olderThanMs: number): Promise<number> {
  const rows = await db
    .update(messages)
    .set({
      status: 'unknown',
      errorCode: 'unknown_outcome',
      errorMessage: 'the worker stopped while sending; check with the recipient before sending again',
      updatedAt: sql`now()`,
    })
    .where(and(eq(messages.status, 'sending'), lt(messages.updatedAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`)))
    .returning({ id: messages.id });
  return rows.length;
}
