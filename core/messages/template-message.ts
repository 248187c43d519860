import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { messages } from '../db/schema.js';
import { conflict } from '../errors.js';
import { parseInput } from '../validation.js';
import { queueOutboundMessage, type ReplyDeps } from './outbound.js';

export const templateMessageInput = z.object({
  /** The name the channel's config gives the template. */
  template: z.string().trim().min(1).max(100),
  /** A value for each of the template's placeholders. */
  variables: z.record(z.string(), z.string().max(1_000)).default({}),
  /** Where tapping the message leads, instead of the template's default. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  channelId: z.uuid().optional(),
});

/**
 * Queues a pre-approved template message: how a channel with a service window (WeChat) reaches a
 * customer who has not written lately. The channel checks the template and its variables at send.
 */
export async function queueTemplateMessage(
  deps: ReplyDeps,
  params: { conversationId: string; authorId: string; idempotencyKey?: string | undefined; input: unknown },
) {
  const input = parseInput(templateMessageInput, params.input);
  const idempotencyKey = params.idempotencyKey ? `template:${params.authorId}:${params.idempotencyKey}` : undefined;
  const template = { name: input.template, variables: input.variables, ...(input.url ? { url: input.url } : {}) };
  return deps.db.transaction(async (tx) => {
    if (idempotencyKey) {
      const [previous] = await tx.select().from(messages).where(eq(messages.idempotencyKey, idempotencyKey));
      if (previous) {
        if (previous.conversationId !== params.conversationId) throw conflict('this Idempotency-Key was already used for another conversation');
        return { message: previous, created: false };
      }
    }
    const message = await queueOutboundMessage(tx, deps.adapters, {
      conversationId: params.conversationId,
      channelId: input.channelId,
      authorKind: 'agent',
      authorId: params.authorId,
      contentKind: 'template',
      text: null,
      payload: { template },
      idempotencyKey,
    });
    return { message, created: true };
  });
}
