import { and, eq, inArray, sql } from 'drizzle-orm';
import type { LoadedChannel } from '../channels/channel-service.js';
import { PermanentEventError, type AdapterRegistry, type DeliveryStatus, type MessageAction, type NormalizedEvent } from '../channels/contract.js';
import { recordConsentChange } from '../consents/consents.js';
import { IdentityValueError } from '../contacts/identity.js';
import { resolveSender } from '../contacts/resolve-contact.js';
import { storeAttachment } from '../attachments/attachment-store.js';
import { findOrOpenConversation, findThreadConversation } from '../conversations/open-conversation.js';
import type { Db } from '../db/client.js';
import { attachments, inboundEvents, messages, suppressions, type MessageStatus } from '../db/schema.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { queueOutboundMessage } from '../messages/outbound.js';

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
    return await deps.db.transaction(async (tx) => {
      const [locked] = await tx
        .select({ status: inboundEvents.status })
        .from(inboundEvents)
        .where(eq(inboundEvents.id, eventId))
        .for('update');
      if (locked?.status !== 'pending') return { result: 'skipped', reason: 'processed concurrently' } as const;
      const events = await applyNormalizedEvent(tx, deps.adapters, normalized, event.channelId, eventId, deps.conversationWindowMs);
      await tx
        .update(inboundEvents)
        .set({ status: 'processed', processedAt: sql`now()`, error: null })
        .where(eq(inboundEvents.id, eventId));
      return { result: 'processed', events } as const;
    });
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const permanent = err instanceof PermanentEventError || err instanceof IdentityValueError;
    return recordFailure(deps, eventId, err, permanent);
  }
}

async function applyNormalizedEvent(
  tx: Db,
  adapters: AdapterRegistry,
  normalized: NormalizedEvent,
  channelId: string,
  eventId: string,
  conversationWindowMs: number | undefined,
): Promise<DomainEvent[]> {
  switch (normalized.type) {
    case 'ignored':
      return [];
    case 'status':
      return applyDeliveryStatus(tx, channelId, normalized);
    case 'message': {
      const sender = await resolveSender(tx, normalized.sender, channelId, `channel:${channelId}`);
      const conversation =
        (normalized.threadHint && (await findThreadConversation(tx, sender.contactId, channelId, normalized.threadHint))) ||
        (await findOrOpenConversation(tx, sender.contactId, channelId, conversationWindowMs));
      const [message] = await tx
        .insert(messages)
        .values({
          conversationId: conversation.id,
          contactId: sender.contactId,
          channelId,
          identityId: sender.identityId,
          direction: 'inbound',
          authorKind: 'contact',
          contentKind: normalized.content.kind,
          text: normalized.content.text ?? null,
          payload: normalized.content.payload ?? {},
          providerMessageId: normalized.providerMessageId ?? null,
          inboundEventId: eventId,
          status: 'received',
        })
        .returning({ id: messages.id });
      await linkAttachments(tx, message!.id, normalized.content.payload);
      const base = { conversationId: conversation.id, contactId: sender.contactId, channelId };
      return [
        ...(sender.createdContact ? [{ type: 'contact.created', contactId: sender.contactId } as const] : []),
        ...sender.merges.map((m) => ({ type: 'contact.merged', mergeId: m.id, survivorId: m.survivorId, mergedId: m.mergedId }) as const),
        ...(conversation.opened ? [{ type: 'conversation.opened', ...base } as const] : []),
        { type: 'message.created', messageId: message!.id, direction: 'inbound', ...base },
        ...(await applyMessageActions(tx, adapters, normalized.actions ?? [], { ...base, eventId })),
      ];
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
  const refs = (payload?.attachments ?? []) as Array<{ id?: unknown }>;
  const ids = refs.map((a) => a.id).filter((id): id is string => typeof id === 'string');
  if (ids.length) await tx.update(attachments).set({ messageId }).where(inArray(attachments.id, ids));
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
  const [row] = await deps.db
    .update(inboundEvents)
    .set({
      attempts: sql`${inboundEvents.attempts} + 1`,
      error: error.message.slice(0, 2000),
      status: sql`case when ${inboundEvents.attempts} + 1 >= ${limit} then 'dead' else 'pending' end`,
    })
    .where(and(eq(inboundEvents.id, eventId), eq(inboundEvents.status, 'pending')))
    .returning({ status: inboundEvents.status });
  if (row?.status === 'dead') return { result: 'dead', error: error.message };
  return { result: 'retry', error };
}
