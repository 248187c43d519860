import { and, asc, desc, eq, gt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { resolveLiveContactId } from '../contacts/contact-merge.js';
import type { Db } from '../db/client.js';
import { conversationStatuses, conversations, messages } from '../db/schema.js';
import { notFound } from '../errors.js';
import { decodeCursor, olderThan, toPage, type Page } from '../pagination.js';

export const conversationFilters = z.object({
  status: z.enum(conversationStatuses).optional(),
  contactId: z.uuid().optional(),
  channelId: z.uuid().optional(),
  assigneeId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type ConversationFilters = z.infer<typeof conversationFilters>;

type ConversationRow = typeof conversations.$inferSelect;

/**
 * Most recently active first. `channelId` matches the channel the customer last wrote on; a
 * `contactId` merged into another contact lists the survivor's conversations, which hold its own.
 */
export async function listConversations(db: Db, filters: ConversationFilters): Promise<Page<ConversationRow>> {
  const where: SQL[] = [];
  if (filters.status) where.push(eq(conversations.status, filters.status));
  if (filters.contactId) where.push(eq(conversations.contactId, await resolveLiveContactId(db, filters.contactId)));
  if (filters.channelId) where.push(eq(conversations.lastChannelId, filters.channelId));
  if (filters.assigneeId) where.push(eq(conversations.assigneeId, filters.assigneeId));
  const after = olderThan(conversations.lastMessageAt, conversations.id, filters.cursor);
  if (after) where.push(after);
  const rows = await db
    .select()
    .from(conversations)
    .where(and(...where))
    .orderBy(desc(conversations.lastMessageAt), desc(conversations.id))
    .limit(filters.limit + 1);
  return toPage(rows, filters.limit, (row) => [row.lastMessageAt.toISOString(), row.id]);
}

export async function getConversation(db: Db, id: string): Promise<ConversationRow> {
  const [row] = await db.select().from(conversations).where(eq(conversations.id, id));
  if (!row) throw notFound('conversation', id);
  return row;
}

const messageColumns = {
  id: messages.id,
  conversationId: messages.conversationId,
  contactId: messages.contactId,
  channelId: messages.channelId,
  direction: messages.direction,
  authorKind: messages.authorKind,
  authorId: messages.authorId,
  contentKind: messages.contentKind,
  text: messages.text,
  payload: messages.payload,
  status: messages.status,
  errorCode: messages.errorCode,
  errorMessage: messages.errorMessage,
  providerMessageId: messages.providerMessageId,
  attempts: messages.attempts,
  createdAt: messages.createdAt,
  sentAt: messages.sentAt,
  updatedAt: messages.updatedAt,
  seq: messages.seq,
};
export type MessageView = Awaited<ReturnType<typeof getMessage>>;

/** A conversation's messages oldest first, in the order they were stored. */
export async function listMessages(db: Db, conversationId: string, page: { limit: number; cursor?: string | undefined }) {
  await getConversation(db, conversationId);
  const after = decodeCursor(page.cursor, 1);
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), after ? gt(messages.seq, after[0] as number) : undefined))
    .orderBy(asc(messages.seq))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => [row.seq]);
}

export async function getMessage(db: Db, id: string) {
  const [row] = await db.select(messageColumns).from(messages).where(eq(messages.id, id));
  if (!row) throw notFound('message', id);
  return row;
}
