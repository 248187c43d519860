import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { ThreadHint } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { contacts, conversations, messages } from '../db/schema.js';

export interface OpenedConversation {
  id: string;
  opened: boolean;
}

/** How long a conversation may stay quiet and still continue, whatever channel the customer uses next. */
export const defaultConversationWindowMs = 24 * 60 * 60 * 1000;

/**
 * The unresolved conversation of this contact that a threaded message continues: the one holding
 * the message it answers (most direct reference first), else the one its reply token names.
 * Undefined when nothing matches, so the caller falls back to the contact's open conversation.
 */
export async function findThreadConversation(
  tx: Db,
  contactId: string,
  channelId: string,
  hint: ThreadHint,
): Promise<OpenedConversation | undefined> {
  // The same lock as hub_open_conversation takes (see there why not FOR UPDATE).
  await tx.select({ id: contacts.id }).from(contacts).where(eq(contacts.id, contactId)).for('no key update');
  const ids = hint.providerMessageIds.slice(0, 100);
  const referenced = ids.length
    ? await tx
        .select({ conversationId: messages.conversationId, providerMessageId: messages.providerMessageId })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(
          and(
            eq(messages.channelId, channelId),
            inArray(messages.providerMessageId, ids),
            eq(conversations.contactId, contactId),
            ne(conversations.status, 'resolved'),
          ),
        )
    : [];
  const byReference = ids.map((id) => referenced.find((r) => r.providerMessageId === id)?.conversationId).find(Boolean);
  let conversationId = byReference;
  if (!conversationId && hint.conversationId) {
    const [named] = await tx
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.id, hint.conversationId), eq(conversations.contactId, contactId), ne(conversations.status, 'resolved')));
    conversationId = named?.id;
  }
  if (!conversationId) return undefined;
  await tx
    .update(conversations)
    .set({ lastChannelId: channelId, lastMessageAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(conversations.id, conversationId));
  return { id: conversationId, opened: false };
}
