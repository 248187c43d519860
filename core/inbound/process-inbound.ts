import { and, eq, inArray, sql } from 'drizzle-orm';
import type { LoadedChannel } from '../channels/channel-service.js';
import { PermanentEventError, type AdapterRegistry, type DeliveryStatus, type MessageAction, type NormalizedEvent } from '../channels/contract.js';
import { recordConsentChange } from '../consents/consents.js';
import { IdentityValueError } from '../contacts/identity.js';
import { identityClaim, resolveSender } from '../contacts/resolve-contact.js';
import { storeAttachment } from '../attachments/attachment-store.js';
import type { ContactMerge } from '../contacts/contact-merge.js';
import { defaultConversationWindowMs, findThreadConversation } from '../conversations/open-conversation.js';
import { queryRows, type Db } from '../db/client.js';
import { attachments, inboundEvents, messages, suppressions, type MessageStatus } from '../db/schema.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { queueOutboundMessage } from '../messages/outbound.js';
import { describeError } from '../log-safety.js';

export interface InboundDeps {
  db: Db;
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
  maxAttempts: number;
  /** For automatic replies a message asks for (an SMS HELP keyword). */
  adapters: AdapterRegistry;
  /** Inactivity after which a customer's next message opens a new conversation. */
  conversationWindowMs?: number | undefined;
}

export type InboundOutcome =
  | { result: 'skipped'; reason: string }
  | { result: 'processed'; events: DomainEvent[] }
  | { result: 'retry'; error: Error }
  | { result: 'dead'; error: string };

/**
 * Processes one stored provider event: normalize, resolve the sender, find or open the
 * conversation, append the message (or apply a delivery receipt), mark the event processed.
 * Idempotent: an event already processed, or a second job for it, does nothing.
 */
export async function processInboundEvent(deps: InboundDeps, eventId: string): Promise<InboundOutcome> {
  const [event] = await deps.db.select().from(inboundEvents).where(eq(inboundEvents.id, eventId));
  if (!event) return { result: 'skipped', reason: 'no such event' };
  if (event.status !== 'pending') return { result: 'skipped', reason: `event is ${event.status}` };

  try {
    const channel = await deps.loadChannel(event.channelId);
    if (!channel) throw new PermanentEventError(`channel ${event.channelId} no longer exists`);
    // Normalizing may call the provider (media downloads): never inside a transaction.
    const normalized = await channel.adapter.normalize(event.payload, channel.context, {
      storeAttachment: (file) => storeAttachment(deps.db, { ...file, channelId: event.channelId }),
    });
    const origin = { channelId: event.channelId, eventId, windowMs: deps.conversationWindowMs ?? defaultConversationWindowMs };
    if (normalized.type === 'message' && !normalized.sender.linked?.length && !normalized.threadHint && !normalized.actions?.length) {
      // Most messages: claim, sender, conversation and message in one statement, no transaction.
      const appended = await appendInboundMessage(deps.db, normalized, { ...origin, claim: true });
      if (!appended) return concurrentlyProcessed;
      return { result: 'processed', events: messageEvents(appended, event.channelId, []) };
    }
    return await deps.db.transaction(async (tx) => {
      const claimed = await queryRows<{ claimed: boolean }>(tx, sql`select hub_claim_inbound_event(${eventId}::uuid) as claimed`);
      if (!claimed[0]?.claimed) return concurrentlyProcessed;
      const events = await applyNormalizedEvent(tx, deps.adapters, normalized, origin);
      return { result: 'processed', events } as const;
    });
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const permanent = err instanceof PermanentEventError || err instanceof IdentityValueError;
    return recordFailure(deps, eventId, err, permanent);
  }
}

const concurrentlyProcessed = { result: 'skipped', reason: 'processed concurrently' } as const;

interface EventOrigin {
  channelId: string;
  eventId: string;
  windowMs: number;
}

interface AppendedMessage {
  message_id: string;
  conversation_id: string;
  contact_id: string;
  identity_id: string;
  created_contact: boolean;
  opened_conversation: boolean;
  after_handover: boolean;
}

/**
 * Appends the message through hub_append_inbound_message (see the migrations). Without `resolved`
 * the function resolves the sender and the conversation itself; undefined when `claim` is set and
 * the event was no longer pending.
 */
async function appendInboundMessage(
  db: Db,
  normalized: Extract<NormalizedEvent, { type: 'message' }>,
  origin: EventOrigin & { claim: boolean },
  resolved?: { contactId: string; identityId: string; conversationId: string | undefined },
): Promise<AppendedMessage | undefined> {
  const claim = identityClaim(normalized.sender, origin.channelId, `channel:${origin.channelId}`);
  const attachments = attachmentIds(normalized.content.payload);
  const [row] = await queryRows<AppendedMessage>(
    db,
    sql`select * from hub_append_inbound_message(${origin.eventId}::uuid, ${origin.claim}::boolean, ${origin.channelId}::uuid,
      ${resolved?.contactId ?? null}::uuid, ${resolved?.identityId ?? null}::uuid,
      ${claim.kind}::text, ${claim.scope}::text, ${claim.value}::text, ${claim.verified}::boolean, ${claim.source}::text, ${normalized.sender.name ?? null}::text,
      ${resolved?.conversationId ?? null}::uuid, ${origin.windowMs / 1000}::float8,
      ${normalized.content.kind}::text, ${normalized.content.text ?? null}::text, ${JSON.stringify(normalized.content.payload ?? {})}::jsonb,
      ${normalized.providerMessageId ?? null}::text, ${`{${attachments.join(',')}}`}::uuid[])`,
  );
  return row;
}

/** What storing a customer message made true, for the bot, routing and live consoles. */
function messageEvents(appended: AppendedMessage, channelId: string, merges: ContactMerge[]): DomainEvent[] {
  const base = { conversationId: appended.conversation_id, contactId: appended.contact_id, channelId };
  return [
    ...(appended.created_contact ? [{ type: 'contact.created', contactId: appended.contact_id } as const] : []),
    ...merges.map((m) => ({ type: 'contact.merged', mergeId: m.id, survivorId: m.survivorId, mergedId: m.mergedId }) as const),
    ...(appended.opened_conversation ? [{ type: 'conversation.opened', ...base } as const] : []),
    {
      type: 'message.created',
      messageId: appended.message_id,
      direction: 'inbound',
      ...base,
      ...(appended.after_handover ? { afterHandover: true } : {}),
    },
  ];
}

async function applyNormalizedEvent(tx: Db, adapters: AdapterRegistry, normalized: NormalizedEvent, origin: EventOrigin): Promise<DomainEvent[]> {
  switch (normalized.type) {
    case 'ignored':
      return [];
    case 'status':
      return applyDeliveryStatus(tx, origin.channelId, normalized);
    case 'message': {
      const sender = await resolveSender(tx, normalized.sender, origin.channelId, `channel:${origin.channelId}`);
      const thread = normalized.threadHint && (await findThreadConversation(tx, sender.contactId, origin.channelId, normalized.threadHint));
      const appended = await appendInboundMessage(tx, normalized, { ...origin, claim: false }, { ...sender, conversationId: thread?.id });
      const events = messageEvents({ ...appended!, created_contact: sender.createdContact }, origin.channelId, sender.merges);
      const base = { conversationId: appended!.conversation_id, contactId: sender.contactId, channelId: origin.channelId, eventId: origin.eventId };
      return [...events, ...(await applyMessageActions(tx, adapters, normalized.actions ?? [], base))];
    }
  }
}

/** Consent changes and automatic replies a message asked for, in the transaction that stores it. */
async function applyMessageActions(
  tx: Db,
  adapters: AdapterRegistry,
  actions: MessageAction[],
  origin: { conversationId: string; contactId: string; channelId: string; eventId: string },
): Promise<DomainEvent[]> {
  const events: DomainEvent[] = [];
  for (const action of actions) {
    if (action.type === 'consent') {
      await recordConsentChange(tx, { contactId: origin.contactId, channelId: origin.channelId, status: action.status, source: action.source });
      continue;
    }
    const reply = await queueOutboundMessage(tx, adapters, {
      conversationId: origin.conversationId,
      channelId: origin.channelId,
      authorKind: 'system',
      text: action.text,
      // A reprocessed event finds its reply instead of queueing a second one.
      idempotencyKey: `auto-reply:${origin.eventId}`,
    });
    events.push(outboundMessageCreated(reply));
  }
  return events;
}

/** Attachments stored while normalizing belong to the message from now on. */
export async function linkAttachments(tx: Db, messageId: string, payload: Record<string, unknown> | undefined): Promise<void> {
  const ids = attachmentIds(payload);
  if (ids.length) await tx.update(attachments).set({ messageId }).where(inArray(attachments.id, ids));
}

/** The stored attachments a message's content refers to. */
function attachmentIds(payload: Record<string, unknown> | undefined): string[] {
  const refs = (payload?.attachments ?? []) as Array<{ id?: unknown }>;
  return refs.map((a) => a.id).filter((id): id is string => typeof id === 'string');
}

/** Statuses a receipt may move a message from, so status only ever moves forward. */
export const earlierThan: Record<DeliveryStatus, MessageStatus[]> = {
  sent: ['queued', 'sending', 'unknown'],
  delivered: ['queued', 'sending', 'unknown', 'sent'],
  read: ['queued', 'sending', 'unknown', 'sent', 'delivered'],
  failed: ['queued', 'sending', 'unknown', 'sent'],
};

async function applyDeliveryStatus(
  tx: Db,
  channelId: string,
  receipt: Extract<NormalizedEvent, { type: 'status' }>,
): Promise<DomainEvent[]> {
  const updated = await tx
    .update(messages)
    .set({
      status: receipt.status,
      errorCode: receipt.errorCode ?? null,
      errorMessage: receipt.errorMessage ?? null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(messages.channelId, channelId),
        eq(messages.providerMessageId, receipt.providerMessageId),
        eq(messages.direction, 'outbound'),
        inArray(messages.status, earlierThan[receipt.status]),
      ),
    )
    .returning({ id: messages.id, conversationId: messages.conversationId, identityId: messages.identityId });
  if (!updated.length && (await receiptOvertookSend(tx, channelId, receipt.providerMessageId))) {
    throw new Error(`receipt for ${receipt.providerMessageId} arrived before its send was recorded; retrying`);
  }
  if (receipt.suppressRecipient) {
    const identityIds = [...new Set(updated.flatMap((m) => m.identityId ?? []))];
    if (identityIds.length) {
      await tx
        .insert(suppressions)
        .values(identityIds.map((identityId) => ({ channelId, identityId, code: receipt.errorCode ?? 'suppressed', reason: receipt.errorMessage ?? null })))
        .onConflictDoNothing();
    }
  }
  return updated.map((m) => ({
    type: 'message.status',
    messageId: m.id,
    conversationId: m.conversationId,
    status: receipt.status,
  }));
}

/**
 * A provider may call back before the hub has stored the id its send returned. While a send is
 * in flight on the channel and no message carries the id yet, the receipt is retried later
 * instead of being dropped.
 */
async function receiptOvertookSend(tx: Db, channelId: string, providerMessageId: string): Promise<boolean> {
  const [known] = await tx
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.channelId, channelId), eq(messages.providerMessageId, providerMessageId)))
    .limit(1);
  if (known) return false;
  const [inFlight] = await tx
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.channelId, channelId), eq(messages.status, 'sending')))
    .limit(1);
  return inFlight !== undefined;
}

async function recordFailure(
  deps: InboundDeps,
  eventId: string,
  error: Error,
  permanent: boolean,
): Promise<InboundOutcome> {
  const limit = permanent ? 1 : deps.maxAttempts;
  // Stored, shown to admins and handed to the queue (which keeps it in Redis): never the
  // parameters of a failed query, which hold the customer's message.
  const described = describeError(error);
  const [row] = await deps.db
    .update(inboundEvents)
    .set({
      attempts: sql`${inboundEvents.attempts} + 1`,
      error: described.slice(0, 2000),
      status: sql`case when ${inboundEvents.attempts} + 1 >= ${limit} then 'dead' else 'pending' end`,
    })
    .where(and(eq(inboundEvents.id, eventId), eq(inboundEvents.status, 'pending')))
    .returning({ status: inboundEvents.status });
  if (row?.status === 'dead') return { result: 'dead', error: described };
  return { result: 'retry', error: new Error(described) };
}
