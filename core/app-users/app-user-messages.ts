import { and, desc, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { findIdentity } from '../contacts/identity-links.js';
import { messages } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { DomainEvent } from '../events.js';
import { earlierThan } from '../inbound/process-inbound.js';
import { cursorPart, decodeCursor, toPage } from '../pagination.js';
import { parseInput } from '../validation.js';
import type { AppUserRef } from './devices.js';

export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  /** The `nextCursor` of the previous page, for older messages. */
  cursor: z.string().max(200).optional(),
});

export const readReceiptInput = z.object({
  messageIds: z.array(z.uuid()).min(1).max(100),
});

/** The contact behind an app user, once the app user has registered a device or written. */
async function findAppUserContact(db: Db, appUserId: string): Promise<string | undefined> {
  return (await findIdentity(db, { kind: 'app_user', scope: '', value: appUserId }))?.contactId;
}

/**
 * The app user's messages across all of the contact's conversations, newest first, paged
 * backwards: the app shows the latest screen first and loads older ones as the customer scrolls.
 */
export async function listAppUserMessages(db: Db, user: AppUserRef, query: unknown) {
  const page = parseInput(historyQuery, query, 'query');
  const before = decodeCursor(page.cursor, z.tuple([cursorPart.seq]));
  const contactId = await findAppUserContact(db, user.appUserId);
  if (!contactId) return { items: [], nextCursor: null };
  const rows = await db
    .select({
      id: messages.id,
      conversationId: messages.conversationId,
      direction: messages.direction,
      authorKind: messages.authorKind,
      contentKind: messages.contentKind,
      text: messages.text,
      payload: messages.payload,
      status: messages.status,
      providerMessageId: messages.providerMessageId,
      createdAt: messages.createdAt,
      seq: messages.seq,
    })
    .from(messages)
    // Staff notes (internal) are for staff only.
    .where(and(eq(messages.contactId, contactId), ne(messages.direction, 'internal'), before ? lt(messages.seq, before[0]) : undefined))
    .orderBy(desc(messages.seq))
    .limit(page.limit + 1);
  const result = toPage(rows, page.limit, (row) => [row.seq]);
  return {
    nextCursor: result.nextCursor,
    items: result.items.map(({ providerMessageId, seq: _seq, ...row }) => ({
      ...row,
      // The app matches its own sent messages by the id it chose.
      clientMessageId: row.direction === 'inbound' && row.authorKind === 'contact' ? providerMessageId : null,
    })),
  };
}

/**
 * Marks messages the app showed as read. Every id must be an outbound message this app user
 * received on this channel, so one customer can never touch another's messages; status only
 * moves forward, so a repeated or late acknowledgement changes nothing. Applied at once rather
 * than as a queued receipt: the app may show a message while its push is still in flight.
 */
export async function markMessagesRead(
  db: Db,
  user: AppUserRef,
  input: unknown,
): Promise<Extract<DomainEvent, { type: 'message.status' }>[]> {
  const { messageIds } = parseInput(readReceiptInput, input);
  const ids = [...new Set(messageIds)];
  const contactId = await findAppUserContact(db, user.appUserId);
  return db.transaction(async (tx) => {
    const mine = contactId
      ? and(inArray(messages.id, ids), eq(messages.contactId, contactId), eq(messages.channelId, user.channelId), eq(messages.direction, 'outbound'))
      : undefined;
    const owned = mine ? await tx.select({ id: messages.id }).from(messages).where(mine) : [];
    const missing = ids.filter((id) => !owned.some((m) => m.id === id));
    if (missing.length) {
      throw new HubError(404, 'not_found', `no message sent to this app user on this channel with id ${missing.join(', ')}`);
    }
    const updated = await tx
      .update(messages)
      .set({ status: 'read', updatedAt: sql`now()` })
      .where(and(mine, inArray(messages.status, earlierThan.read)))
      .returning({ id: messages.id, conversationId: messages.conversationId });
    return updated.map((m) => ({ type: 'message.status', messageId: m.id, conversationId: m.conversationId, status: 'read' }) as const);
  });
}
