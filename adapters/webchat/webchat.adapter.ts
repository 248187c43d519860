import { z } from 'zod';
import { PermanentEventError, type ChannelAdapter, type HttpReply, type NormalizedEvent, type SenderIdentity } from '../../core/channels/contract.js';
import { identityKinds } from '../../core/db/schema.js';
import { describeZodError } from '../../core/validation.js';
import { webchatChannelConfig, webchatSecretFields, type WebchatChannelConfig } from './webchat.config.js';

/**
 * What the widget's socket stores as an inbound event. The hub writes it itself after checking
 * the visitor, so `normalize` only re-validates the shape.
 */
const inboundEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    clientId: z.string(),
    sender: z.object({
      kind: z.enum(identityKinds),
      value: z.string(),
      verified: z.boolean(),
      scoped: z.boolean().optional(),
      name: z.string().optional(),
    }),
    text: z.string().optional(),
    attachments: z
      .array(z.object({ id: z.uuid(), contentType: z.string(), fileName: z.string().nullable(), size: z.number() }))
      .optional(),
    contact: z.object({ name: z.string().optional(), email: z.string().optional(), phone: z.string().optional() }).optional(),
  }),
  z.object({ type: z.literal('read'), messageId: z.uuid() }),
]);
export type WebchatInboundEvent = z.infer<typeof inboundEvent>;

/**
 * What the hub announces on a channel's live topic to the process holding the visitor's socket:
 * a stored message to push (from `send`), or an agent typing in the visitor's conversation.
 */
export type LiveDelivery = {
  /** `kind:value` of the recipient identity, as the socket registered its visitor. */
  visitor: string;
} & ({ messageId: string } | { typing: string });

const json = (status: number, body: unknown): HttpReply => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

/**
 * The website chat widget. Visitors talk over the hub's own socket (`/widget/socket`), not a
 * provider's webhook; replies are stored messages the widget reads, pushed live when it is open.
 */
export const webchatAdapter: ChannelAdapter<WebchatChannelConfig> = {
  type: 'webchat',
  displayName: 'Website chat widget',
  configSchema: webchatChannelConfig,
  secretFields: webchatSecretFields,
  reachableKinds: ['web_visitor', 'app_user', 'external_id', 'email', 'phone'],

  async verifyInbound() {
    return { ok: false, reply: json(404, { error: 'web chat messages arrive over the widget socket, not a webhook' }) };
  },

  async normalize(payload, _channel, _tools): Promise<NormalizedEvent> {
    const parsed = inboundEvent.safeParse(payload);
    if (!parsed.success) throw new PermanentEventError(`malformed web chat event: ${describeZodError(parsed.error)}`);
    const event = parsed.data;
    if (event.type === 'read') return { type: 'status', providerMessageId: event.messageId, status: 'read' };
    const files = event.attachments ?? [];
    const name = event.contact?.name || event.sender.name;
    const sender: SenderIdentity = { ...event.sender, ...(name ? { name } : {}) };
    const offlineForm = event.contact && (event.contact.email || event.contact.phone) ? { contact: event.contact } : {};
    return {
      type: 'message',
      sender,
      content: {
        kind: event.text ? 'text' : files.length === 1 && files[0]!.contentType.startsWith('image/') ? 'image' : 'file',
        ...(event.text ? { text: event.text } : {}),
        payload: { clientId: event.clientId, ...(files.length ? { attachments: files } : {}), ...offlineForm },
      },
      providerMessageId: event.clientId,
    };
  },

  async send(message, channel) {
    // The stored row already reaches the visitor: the widget loads it from history whenever it
    // connects. The announcement pushes it to an open widget, which does not poll, so a refused
    // publish is retried rather than counted as sent.
    const delivery: LiveDelivery = { messageId: message.id, visitor: `${message.recipient.kind}:${message.recipient.value}` };
    try {
      await channel.store.publish(JSON.stringify(delivery));
    } catch (error) {
      return { outcome: 'retryable', code: 'live_publish_failed', message: (error as Error).message };
    }
    return { outcome: 'sent', providerMessageId: message.id };
  },
};
