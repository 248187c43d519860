import { randomBytes } from 'node:crypto';
import { and, desc, eq, gt, inArray, isNull, ne } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { LoadedChannel } from '../../core/channels/channel-service.js';
import type { SenderIdentity } from '../../core/channels/contract.js';
import type { Db } from '../../core/db/client.js';
import { attachments, channels, contactIdentities, conversations, messages, users } from '../../core/db/schema.js';
import { recordInboundEvents } from '../../core/inbound/inbound-events.js';
import { sha256Hex } from '../../core/security/signatures.js';
import { describeZodError, findUnsafeInput } from '../../core/validation.js';
import { verifyIdentity } from './identity-token.js';
import type { WebchatInboundEvent } from './webchat.adapter.js';
import { isOnDuty, type WebchatChannelConfig } from './webchat.config.js';

/** What the widget's socket and its HTTP fallback need from the hub. */
export interface WidgetDeps {
  db: Db;
  redis: Redis;
  prefix: string;
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
  /** Hands committed inbound events to the pipeline (or leaves them to its sweeper). */
  enqueueInbound(eventIds: string[]): Promise<void>;
  /** The pub/sub topic every hub process's agent sockets listen on, for the visitor's typing. */
  eventsTopic: string;
}

export interface WebchatChannel {
  id: string;
  config: WebchatChannelConfig;
}

/** Loads an enabled web chat channel, or says why the widget cannot use it. */
export async function loadWebchatChannel(deps: WidgetDeps, id: string): Promise<WebchatChannel | WidgetError> {
  const channel = await deps.loadChannel(id);
  if (!channel || channel.row.type !== 'webchat') return widgetError('not_found', `no web chat channel ${id}`);
  if (!channel.row.enabled) return widgetError('channel_disabled', 'this chat is switched off');
  return { id: channel.row.id, config: channel.context.config as WebchatChannelConfig };
}

export interface WidgetError {
  error: true;
  code: 'not_found' | 'channel_disabled' | 'origin_forbidden' | 'identity_rejected' | 'identity_required' | 'bad_frame' | 'rate_limited' | 'attachment_rejected';
  message: string;
}
export const widgetError = (code: WidgetError['code'], message: string): WidgetError => ({ error: true, code, message });
export const isWidgetError = (value: unknown): value is WidgetError => (value as WidgetError | undefined)?.error === true;

/** Refuses pages the channel does not list, before anything else happens. */
export function checkOrigin(channel: WebchatChannel, origin: string | undefined): WidgetError | undefined {
  const allowed = channel.config.allowedOrigins;
  if (allowed.includes('*') || (origin && allowed.includes(origin))) return undefined;
  return widgetError('origin_forbidden', `this chat may not be embedded on ${origin ?? 'a page without an Origin'}`);
}

export const helloFrame = z.object({
  type: z.literal('hello'),
  visitorToken: z.string().regex(/^[A-Za-z0-9_-]{32,64}$/, 'malformed visitor token').optional(),
  identityToken: z.string().max(4096).optional(),
  userId: z.string().max(256).optional(),
  userHash: z.string().max(128).optional(),
});
export type HelloFrame = z.infer<typeof helloFrame>;

export const clientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    /** Chosen by the widget; a resend carries the same id and is stored once. */
    id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'malformed client message id'),
    text: z.string().max(4000).optional(),
    attachments: z.array(z.uuid()).max(5).optional(),
    /** The offline form: how to reach the visitor back. */
    contact: z
      .object({ name: z.string().trim().max(200).optional(), email: z.string().trim().max(254).optional(), phone: z.string().trim().max(40).optional() })
      .optional(),
  }),
  z.object({ type: z.literal('read'), messageId: z.uuid() }),
  z.object({ type: z.literal('history'), after: z.number().int().nonnegative().optional() }),
  z.object({ type: z.literal('typing') }),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

/** A visitor whose hello was accepted: anonymous (by visitor token) or identified by the host site. */
export interface Visitor {
  channel: WebchatChannel;
  sender: SenderIdentity;
  /** Returned to the widget to keep in local storage; the database keeps only its hash. */
  visitorToken: string;
  /** `kind:value` of the sender identity, the address replies are published to. */
  key: string;
  ip: string;
}

export const visitorKey = (sender: { kind: string; value: string }) => `${sender.kind}:${sender.value}`;

export async function openVisitor(channel: WebchatChannel, hello: HelloFrame, ip: string): Promise<Visitor | WidgetError> {
  const visitorToken = hello.visitorToken ?? randomBytes(24).toString('base64url');
  let sender: SenderIdentity;
  if (hello.identityToken || hello.userId || hello.userHash) {
    const identity = await verifyIdentity(channel.config, hello);
    if (!identity.ok) return widgetError('identity_rejected', identity.message);
    sender = identity.sender;
  } else {
    if (channel.config.requireIdentity) return widgetError('identity_required', 'please sign in to chat with us');
    // Whoever holds the token is the visitor; a database leak must not hand out live tokens.
    sender = { kind: 'web_visitor', value: sha256Hex(visitorToken), verified: false, scoped: true };
  }
  return { channel, sender, visitorToken, key: visitorKey(sender), ip };
}

export function welcomeFrame(visitor: Visitor) {
  const { config } = visitor.channel;
  return {
    type: 'welcome' as const,
    visitorToken: visitor.visitorToken,
    identified: visitor.sender.kind !== 'web_visitor',
    title: config.title,
    onDuty: isOnDuty(config),
    maxAttachmentBytes: config.maxAttachmentBytes,
    attachmentTypes: config.attachmentTypes,
    maxFrameBytes: config.maxFrameBytes,
  };
}

/** The reply frames to one client frame, shared by the socket and the HTTP fallback. */
export async function handleFrame(deps: WidgetDeps, visitor: Visitor, frame: ClientFrame): Promise<object[]> {
  switch (frame.type) {
    case 'history':
      return [{ type: 'history', messages: await loadHistory(deps.db, visitor, frame.after ?? 0) }];
    case 'read': {
      // Only the visitor a message went to may mark it read.
      const target = await loadVisitorMessage(deps.db, frame.messageId);
      if (target?.visitor !== visitor.key || target.message.direction !== 'outbound') return [];
      const recorded = await recordInboundEvents(deps.db, visitor.channel.id, [
        { dedupeKey: `read:${frame.messageId}`, payload: { type: 'read', messageId: frame.messageId } satisfies WebchatInboundEvent },
      ]);
      await deps.enqueueInbound(recorded.filter((r) => !r.duplicate).map((r) => r.id));
      return [];
    }
    case 'message':
      return [await acceptMessage(deps, visitor, frame)];
    case 'typing':
      await announceTyping(deps, visitor);
      return [];
  }
}

/**
 * Tells the agents of the visitor's open conversation that the visitor is typing. It is only a
 * live hint, so nothing is stored, and frames beyond one a second are dropped without a reply.
 */
async function announceTyping(deps: WidgetDeps, visitor: Visitor) {
  if (await overLimit(deps, visitor, [[`typing:${visitor.key}`, 1, 1_000]])) return;
  const conversationId = await findOpenConversation(deps.db, visitor);
  if (conversationId) await deps.redis.publish(deps.eventsTopic, JSON.stringify({ type: 'visitor.typing', conversationId }));
}

async function acceptMessage(deps: WidgetDeps, visitor: Visitor, frame: Extract<ClientFrame, { type: 'message' }>) {
  const reject = (code: WidgetError['code'], message: string) => ({ type: 'error', id: frame.id, code, message });
  const text = frame.text?.trim() ? frame.text : undefined;
  if (!text && !frame.attachments?.length) return reject('bad_frame', 'a message needs text or an attachment');
  const limited = await checkMessageRate(deps, visitor);
  if (limited) return reject(limited.code, limited.message);
  const { config } = visitor.channel;
  if (!(await findOpenConversation(deps.db, visitor))) {
    const tooMany = await overLimit(deps, visitor, [[`new:${visitor.ip}`, config.newConversationsPerMinutePerIp, 60_000]]);
    if (tooMany) return reject('rate_limited', 'Too many new chats from your network. Please try again in a minute.');
  }
  const files = frame.attachments?.length
    ? await deps.db
        .select({ id: attachments.id, contentType: attachments.contentType, fileName: attachments.fileName, size: attachments.size })
        .from(attachments)
        .where(and(inArray(attachments.id, frame.attachments), eq(attachments.channelId, visitor.channel.id), isNull(attachments.messageId)))
    : [];
  if (files.length !== (frame.attachments?.length ?? 0)) return reject('attachment_rejected', 'an attachment was not found; upload it again');

  const payload: WebchatInboundEvent = {
    type: 'message',
    clientId: frame.id,
    sender: visitor.sender,
    ...(text ? { text } : {}),
    ...(files.length ? { attachments: files } : {}),
    ...(frame.contact ? { contact: frame.contact } : {}),
  };
  // The visitor key keeps one visitor's ids from colliding with another's.
  const recorded = await recordInboundEvents(deps.db, visitor.channel.id, [{ dedupeKey: `${visitor.key}:${frame.id}`, payload }]);
  await deps.enqueueInbound(recorded.filter((r) => !r.duplicate).map((r) => r.id));
  return { type: 'ack', id: frame.id };
}

/** Counts a message (or an upload) against the visitor's and the IP's per-second limits. */
export async function checkMessageRate(deps: WidgetDeps, visitor: Visitor): Promise<WidgetError | undefined> {
  const { config } = visitor.channel;
  const limited = await overLimit(deps, visitor, [
    [`v:${visitor.key}`, config.messagesPerSecondPerVisitor, 1_000],
    [`ip:${visitor.ip}`, config.messagesPerSecondPerIp, 1_000],
  ]);
  return limited ? widgetError('rate_limited', 'You are sending messages too quickly. Please wait a moment.') : undefined;
}

/** Fixed-window counters in Redis, shared by every hub process. */
async function overLimit(deps: WidgetDeps, visitor: Visitor, limits: Array<[string, number, number]>): Promise<boolean> {
  const now = Date.now();
  const pipeline = deps.redis.multi();
  for (const [key, , windowMs] of limits) {
    const slot = `${deps.prefix}:webchat:rate:${visitor.channel.id}:${key}:${Math.floor(now / windowMs)}`;
    pipeline.incr(slot).pexpire(slot, windowMs * 2);
  }
  const results = (await pipeline.exec()) ?? [];
  return limits.some(([, max], i) => Number(results[i * 2]?.[1]) > max);
}

async function findContactId(db: Db, visitor: Visitor): Promise<string | undefined> {
  const scope = visitor.sender.scoped ? visitor.channel.id : '';
  const [row] = await db
    .select({ contactId: contactIdentities.contactId })
    .from(contactIdentities)
    .where(and(eq(contactIdentities.kind, visitor.sender.kind), eq(contactIdentities.scope, scope), eq(contactIdentities.value, visitor.sender.value)));
  return row?.contactId;
}

async function findOpenConversation(db: Db, visitor: Visitor): Promise<string | undefined> {
  const contactId = await findContactId(db, visitor);
  if (!contactId) return undefined;
  const [open] = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.contactId, contactId), ne(conversations.status, 'resolved')))
    .orderBy(desc(conversations.lastMessageAt))
    .limit(1);
  return open?.id;
}

const visitorMessageColumns = {
  id: messages.id,
  seq: messages.seq,
  direction: messages.direction,
  authorKind: messages.authorKind,
  authorName: users.name,
  contentKind: messages.contentKind,
  text: messages.text,
  payload: messages.payload,
  status: messages.status,
  createdAt: messages.createdAt,
};

/**
 * What the visitor sees of a message: never internal fields, and an agent only by name. Failed
 * outbound messages never reached the visitor and stay hidden.
 */
export type VisitorMessage = Awaited<ReturnType<typeof loadHistory>>[number];

/** The visitor's messages on this channel after `afterSeq`, oldest first (the last 200 at most). */
export async function loadHistory(db: Db, visitor: Visitor, afterSeq: number) {
  const contactId = await findContactId(db, visitor);
  if (!contactId) return [];
  const rows = await db
    .select(visitorMessageColumns)
    .from(messages)
    .leftJoin(users, eq(users.id, messages.authorId))
    .where(
      and(
        eq(messages.contactId, contactId),
        eq(messages.channelId, visitor.channel.id),
        gt(messages.seq, afterSeq),
        ne(messages.status, 'failed'),
        // Staff notes are for staff only.
        ne(messages.direction, 'internal'),
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(200);
  return rows.reverse();
}

/** One message as the visitor sees it, with the key of the visitor it belongs to, for a live push. */
export async function loadVisitorMessage(db: Db, messageId: string): Promise<{ visitor: string; message: VisitorMessage } | undefined> {
  const [row] = await db
    .select({ ...visitorMessageColumns, kind: contactIdentities.kind, value: contactIdentities.value })
    .from(messages)
    .innerJoin(contactIdentities, eq(contactIdentities.id, messages.identityId))
    .leftJoin(users, eq(users.id, messages.authorId))
    .where(eq(messages.id, messageId));
  if (!row) return undefined;
  const { kind, value, ...message } = row;
  return { visitor: visitorKey({ kind, value }), message };
}

/**
 * The web chat visitor of a conversation and the channel they last wrote on, as the widget
 * socket registered them, or nothing when the customer has not written by web chat.
 */
export async function findConversationVisitor(db: Db, conversationId: string): Promise<{ channelId: string; visitor: string } | undefined> {
  const [row] = await db
    .select({ channelId: messages.channelId, kind: contactIdentities.kind, value: contactIdentities.value })
    .from(messages)
    .innerJoin(contactIdentities, eq(contactIdentities.id, messages.identityId))
    .innerJoin(channels, eq(channels.id, messages.channelId))
    .where(and(eq(messages.conversationId, conversationId), eq(messages.direction, 'inbound'), eq(channels.type, 'webchat')))
    .orderBy(desc(messages.seq))
    .limit(1);
  return row && { channelId: row.channelId, visitor: visitorKey(row) };
}

/** Whether a stored file belongs to this visitor's conversation on this channel. */
export async function visitorOwnsAttachment(db: Db, visitor: Visitor, attachmentId: string) {
  const contactId = await findContactId(db, visitor);
  if (!contactId) return undefined;
  const [row] = await db
    .select({ data: attachments.data, contentType: attachments.contentType, fileName: attachments.fileName })
    .from(attachments)
    .innerJoin(messages, eq(messages.id, attachments.messageId))
    .where(and(eq(attachments.id, attachmentId), eq(messages.contactId, contactId), eq(messages.channelId, visitor.channel.id)));
  return row;
}

export function parseFrame<T>(schema: z.ZodType<T>, raw: unknown): T | WidgetError {
  // Socket and HTTP frames alike: a control character or a frame nested absurdly deep is the sender's error.
  const unsafe = findUnsafeInput(raw, 'frame');
  if (unsafe) return widgetError('bad_frame', `invalid frame: ${unsafe.path} ${unsafe.problem}`);
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : widgetError('bad_frame', `invalid frame: ${describeZodError(parsed.error)}`);
}
