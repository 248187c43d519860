import { and, desc, eq, gt, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { contacts, conversations } from '../db/schema.js';

export interface OpenedConversation {
  id: string;
  opened: boolean;
}

/** How long a conversation may stay quiet and still continue, whatever channel the customer uses next. */
export const defaultConversationWindowMs = 24 * 60 * 60 * 1000;

/**
 * Finds the contact's unresolved conversation active within the window, on any channel, or opens
 * one; marks the channel the customer just used as the one replies go out on and records it among
 * the channels the conversation has seen. The contact row is locked first so that two messages
 * from one customer processed at once join one conversation instead of opening two.
 */
export async function findOrOpenConversation(
  tx: Db,
  contactId: string,
  channelId: string,
  windowMs = defaultConversationWindowMs,
): Promise<OpenedConversation> {
  await tx.select({ id: contacts.id }).from(contacts).where(eq(contacts.id, contactId)).for('update');
  const [current] = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(
      and(
        eq(conversations.contactId, contactId),
        ne(conversations.status, 'resolved'),
        gt(conversations.lastMessageAt, sql`now() - make_interval(secs => ${windowMs / 1000})`),
      ),
    )
    .orderBy(desc(conversations.lastMessageAt))
    .limit(1);
  if (current) {
    await tx
      .update(conversations)
      .set({
        lastChannelId: channelId,
        lastMessageAt: sql`now()`,
        updatedAt: sql`now()`,
        seenChannelIds: sql`case when ${channelId}::uuid = any(${conversations.seenChannelIds}) then ${conversations.seenChannelIds} else array_append(${conversations.seenChannelIds}, ${channelId}::uuid) end`,
      })
      .where(eq(conversations.id, current.id));
    return { id: current.id, opened: false };
  }
  const [created] = await tx
    .insert(conversations)
    .values({ contactId, lastChannelId: channelId, seenChannelIds: [channelId] })
    .returning({ id: conversations.id });
  return { id: created!.id, opened: true };
}
