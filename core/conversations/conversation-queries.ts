import { and, asc, desc, eq, gt, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { conversations, messages } from '../db/schema.js';
import { notFound } from '../errors.js';
import { cursorPart, decodeCursor, toPage } from '../pagination.js';

type ConversationRow = typeof conversations.$inferSelect;

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
export const messagePageQuery = z.object({
  /** `desc`: newest first, each page older than the last, for a console reading a long conversation from its end. */
  order: z.enum(['asc', 'desc']).default('asc'),
});

export async function listMessages(
  db: Db,
  conversationId: string,
  page: { limit: number; cursor?: string | undefined; order?: 'asc' | 'desc' | undefined },
) {
  await getConversation(db, conversationId);
  const from = decodeCursor(page.cursor, z.tuple([cursorPart.seq]));
  const newestFirst = page.order === 'desc';
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), from ? (newestFirst ? lt : gt)(messages.seq, from[0]) : undefined))
    .orderBy(newestFirst ? desc(messages.seq) : asc(messages.seq))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => [row.seq]);
}

export async function getMessage(db: Db, id: string) {
  const [row] = await db.select(messageColumns).from(messages).where(eq(messages.id, id));
  if (!row) throw notFound('message', id);
  return row;
}
