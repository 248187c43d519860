import { and, desc, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { contacts, conversations } from '../db/schema.js';

export interface OpenedConversation {
  id: string;
  opened: boolean;
}

/**
 * Finds the contact's unresolved conversation or opens one, and marks the channel the customer
 * just used as the one replies go out on. The contact row is locked first so that two messages
 * from one customer processed at once join one conversation instead of opening two.
 */
export async function findOrOpenConversation(tx: Db, contactId: string, channelId: string): Promise<OpenedConversation> {
  await tx.select({ id: contacts.id }).from(contacts).where(eq(contacts.id, contactId)).for('update');
  const [current] = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.contactId, contactId), ne(conversations.status, 'resolved')))
    .orderBy(desc(conversations.lastMessageAt))
    .limit(1);
  if (current) {
    await tx
      .update(conversations)
      .set({ lastChannelId: channelId, lastMessageAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(conversations.id, current.id));
    return { id: current.id, opened: false };
  }
  const [created] = await tx
    .insert(conversations)
    .values({ contactId, lastChannelId: channelId })
    .returning({ id: conversations.id });
  return { id: created!.id, opened: true };
}
