import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { conversations, messages } from '../db/schema.js';
import { conflict, HubError, notFound } from '../errors.js';
import type { DomainEvent } from '../events.js';
import { parseInput } from '../validation.js';

export const noteInput = z.object({
  text: z.string().trim().min(1, 'text must not be empty').max(20_000),
});

type MessageRow = typeof messages.$inferSelect;

/**
 * Adds a staff note to a conversation: a message with direction `internal`, listed with the
 * conversation's messages for staff. The direction keeps it out of everything that faces the
 * customer or measures their service: delivery only takes outbound messages, the bot and routing
 * only answer inbound ones, an agent's first reply is an outbound message, and the customer's
 * histories (web chat, app) leave internal messages out. It does not move the conversation's
 * last activity either: the customer's conversation has not moved. With an idempotency key
 * (scoped to the author), a retried request returns the first note.
 */
export async function addConversationNote(
  db: Db,
  params: { conversationId: string; authorId: string; idempotencyKey?: string | undefined; input: unknown },
): Promise<{ message: MessageRow; created: boolean }> {
  const { text } = parseInput(noteInput, params.input);
  const idempotencyKey = params.idempotencyKey ? `note:${params.authorId}:${params.idempotencyKey}` : undefined;
  return db.transaction(async (tx) => {
    if (idempotencyKey) {
      const [previous] = await tx.select().from(messages).where(eq(messages.idempotencyKey, idempotencyKey));
      if (previous) {
        if (previous.conversationId !== params.conversationId || previous.text !== text) {
          throw conflict('this Idempotency-Key was already used for a different note');
        }
        return { message: previous, created: false };
      }
    }
    const [conversation] = await tx
      .select({ contactId: conversations.contactId, lastChannelId: conversations.lastChannelId })
      .from(conversations)
      .where(eq(conversations.id, params.conversationId));
    if (!conversation) throw notFound('conversation', params.conversationId);
    // Every message names a channel; a note sits on the one the conversation is on.
    if (!conversation.lastChannelId) throw new HubError(409, 'no_channel', 'the conversation has no channel yet; a note needs one');
    const [message] = await tx
      .insert(messages)
      .values({
        conversationId: params.conversationId,
        contactId: conversation.contactId,
        channelId: conversation.lastChannelId,
        direction: 'internal',
        authorKind: 'agent',
        authorId: params.authorId,
        contentKind: 'text',
        text,
        // Stored is all a note ever is; nothing in the delivery pipeline touches `received`.
        status: 'received',
        idempotencyKey: idempotencyKey ?? null,
      })
      .returning();
    return { message: message!, created: true };
  });
}

/** The live announcement of a note, for the consoles of staff who see the conversation. */
export function noteCreated(message: Pick<MessageRow, 'id' | 'conversationId' | 'contactId' | 'channelId'>): DomainEvent {
  return {
    type: 'message.created',
    messageId: message.id,
    conversationId: message.conversationId,
    contactId: message.contactId,
    channelId: message.channelId,
    direction: 'internal',
  };
}
