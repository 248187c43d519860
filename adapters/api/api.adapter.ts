import { z } from 'zod';
import type { ChannelAdapter, HttpReply, NormalizedEvent, SendResult } from '../../core/channels/contract.js';
import { contentKindOf } from '../../core/attachments/attachment-store.js';
import { normalizeIdentityValue } from '../../core/contacts/identity.js';
import { identityKinds } from '../../core/db/schema.js';
import { OutboundHttpError, sendOutboundHttp } from '../../core/security/outbound-http.js';
import { constantTimeEqual, hmacSha256Hex } from '../../core/security/signatures.js';
import { describeZodError, findUnsafeInput } from '../../core/validation.js';
import { apiChannelConfig, apiSecretFields, type ApiChannelConfig } from './api.config.js';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

const attachment = z.object({
  url: z.url(),
  contentType: z.string().max(200).optional(),
  name: z.string().max(500).optional(),
  size: z.number().int().nonnegative().optional(),
});

export const apiInboundMessage = z
  .object({
    messageId: z.string().trim().min(1).max(200),
    from: z.object({
      kind: z.enum(identityKinds),
      value: z.string().trim().min(1).max(256),
      name: z.string().trim().max(200).optional(),
      /** Further identities of the same person the bank vouches for (e.g. the phone of a logged-in app user). */
      linked: z
        .array(z.object({ kind: z.enum(identityKinds), value: z.string().trim().min(1).max(256) }))
        .max(10)
        .optional(),
    }),
    text: z.string().max(20_000).optional(),
    attachments: z.array(attachment).max(20).optional(),
  })
  .refine((m) => (m.text?.trim() ?? '') !== '' || (m.attachments?.length ?? 0) > 0, 'a message needs text or attachments');
type ApiInboundMessage = z.infer<typeof apiInboundMessage>;

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${hmacSha256Hex(secret, body)}`;
}

const json = (status: number, body: unknown): HttpReply => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});

/**
 * The API channel: a bank's own systems post signed JSON messages in and receive signed JSON
 * callbacks out. Because the bank signs requests, the sender identity it names counts as verified.
 */
export const apiAdapter: ChannelAdapter<ApiChannelConfig> = {
  type: 'api',
  displayName: 'API (custom integration)',
  configSchema: apiChannelConfig,
  secretFields: apiSecretFields,
  reachableKinds: identityKinds,
  outboundTargets: (config) => [{ field: 'callbackUrl', target: config.callbackUrl }],

  async verifyInbound(request, channel) {
    if (request.method !== 'POST') return { ok: false, reply: json(405, { error: 'use POST' }) };
    const signature = request.headers[SIGNATURE_HEADER];
    if (!signature) return { ok: false, reply: json(401, { error: `missing ${SIGNATURE_HEADER} header` }) };
    if (!constantTimeEqual(signature, signBody(channel.config.secret, request.rawBody))) {
      return { ok: false, reply: json(403, { error: 'signature does not match the body' }) };
    }
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      return { ok: false, reply: json(400, { error: 'body is not valid JSON' }) };
    }
    // Answered 400 so the bank's system stops retrying and fixes the message; nothing is stored.
    const unsafe = findUnsafeInput(body, 'body');
    if (unsafe) return { ok: false, reply: json(400, { error: `invalid message: ${unsafe.path} ${unsafe.problem}`, field: unsafe.path }) };
    const parsed = apiInboundMessage.safeParse(body);
    if (!parsed.success) return { ok: false, reply: json(400, { error: `invalid message: ${describeZodError(parsed.error)}` }) };
    try {
      // Refused now, while the sender can still correct it, rather than dead-lettered later.
      normalizeIdentityValue(parsed.data.from.kind, parsed.data.from.value);
    } catch (error) {
      return { ok: false, reply: json(400, { error: `invalid message: from.value: ${(error as Error).message}` }) };
    }
    return {
      ok: true,
      events: [{ dedupeKey: parsed.data.messageId, payload: parsed.data }],
      reply: json(200, { accepted: true, messageId: parsed.data.messageId }),
    };
  },

  async normalize(payload) {
    const message = payload as ApiInboundMessage;
    const attachments = message.attachments ?? [];
    const text = message.text?.trim() ? message.text : undefined;
    const event: NormalizedEvent = {
      type: 'message',
      sender: {
        kind: message.from.kind,
        value: message.from.value,
        verified: true,
        ...(message.from.name ? { name: message.from.name } : {}),
        ...(message.from.linked?.length ? { linked: message.from.linked.map((l) => ({ ...l, verified: true })) } : {}),
      },
      content: {
        kind: text ? 'text' : attachments.length === 1 ? contentKindOf(attachments[0]!.contentType) : 'file',
        ...(text ? { text } : {}),
        ...(attachments.length ? { payload: { attachments } } : {}),
      },
      providerMessageId: message.messageId,
    };
    return event;
  },

  async send(message, channel): Promise<SendResult> {
    const body = JSON.stringify({
      messageId: message.id,
      conversationId: message.conversationId,
      to: message.recipient,
      contentKind: message.contentKind,
      text: message.text,
      ...(Object.keys(message.payload).length ? { payload: message.payload } : {}),
    });
    try {
      const response = await sendOutboundHttp({
        url: channel.config.callbackUrl,
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(channel.config.secret, body) },
        body,
        timeoutMs: channel.sendTimeoutMs,
        allowPrivate: channel.allowPrivateNetwork,
        maxResponseBytes: 64 * 1024,
      });
      const detail = response.body.toString('utf8').slice(0, 500);
      if (response.status >= 200 && response.status < 300) return { outcome: 'sent', providerMessageId: message.id };
      if (response.status === 429 || response.status >= 500) {
        const retryAfter = Number(response.headers['retry-after']);
        return {
          outcome: 'retryable',
          code: `HTTP_${response.status}`,
          message: detail || `callback answered ${response.status}`,
          ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
        };
      }
      return { outcome: 'permanent', code: `HTTP_${response.status}`, message: detail || `callback answered ${response.status}` };
    } catch (error) {
      if (error instanceof OutboundHttpError && error.kind === 'blocked') {
        return { outcome: 'permanent', code: 'callback_blocked', message: error.message };
      }
      // The callback carries the hub's message id for the receiver to deduplicate on, so a
      // request that may have arrived is safe to repeat.
      return { outcome: 'retryable', code: 'callback_unreachable', message: (error as Error).message };
    }
  },

  async testConnection(channel) {
    try {
      const response = await sendOutboundHttp({
        url: channel.config.callbackUrl,
        method: 'HEAD',
        timeoutMs: channel.sendTimeoutMs,
        allowPrivate: channel.allowPrivateNetwork,
      });
      return { ok: response.status < 500, message: `callback answered ${response.status}` };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  },
};
