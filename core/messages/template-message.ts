import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { parseInput } from '../validation.js';
import { queueAgentMessage, type ReplyDeps } from './outbound.js';

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
  const template = { name: input.template, variables: input.variables, ...(input.url ? { url: input.url } : {}) };
  return queueAgentMessage(
    deps,
    { ...params, kind: 'template' },
    { channelId: input.channelId, contentKind: 'template', text: null, payload: { template } },
    (previous) => isDeepStrictEqual(previous.payload.template, template),
  );
}
