import type { z } from 'zod';
import type { ContentKind, IdentityKind } from '../db/schema.js';

/** Every channel type the hub knows. Adding one here without registering an adapter fails to compile. */
export const channelTypes = ['api'] as const;
export type ChannelType = (typeof channelTypes)[number];

/** A provider's HTTP request as a webhook route received it. */
export interface InboundHttpRequest {
  method: string;
  /** The URL as the provider addressed it (the channel's public base URL, path and query). */
  publicUrl: string;
  /** Anything after `/webhooks/:type/:channelId`, e.g. `/status` for delivery receipts; '' for none. */
  subpath: string;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  query: Record<string, string>;
  rawBody: Buffer;
}

/** What the hub answers the provider; adapters speak the provider's dialect (TwiML, `success`, JSON). */
export interface HttpReply {
  status: number;
  contentType?: string;
  body: string;
}

/** One provider event to store durably before acknowledging. */
export interface AcceptedEvent {
  /** The provider's id for this event; a redelivery carries the same key and is stored once. */
  dedupeKey: string;
  /** The raw event as the adapter wants it back in `normalize` (JSON-serializable). */
  payload: unknown;
}

export type VerifyResult =
  | { ok: true; events: AcceptedEvent[]; reply: HttpReply }
  | { ok: false; reply: HttpReply };

export interface SenderIdentity {
  kind: IdentityKind;
  value: string;
  /** Proven by the channel itself (a signed request, an SMS from that number), not merely typed in. */
  verified: boolean;
  /** Set for identities that only mean something inside this channel (a WeChat openid). */
  scoped?: boolean;
  /** A display name the channel reports for the sender, if any. */
  name?: string;
  /**
   * Further identities the channel vouches belong to the same person (a logged-in app user's
   * phone, a WeChat unionid). Verified ones may merge contacts under the admin's merge rules.
   */
  linked?: Array<Pick<SenderIdentity, 'kind' | 'value' | 'verified' | 'scoped'>>;
}

export interface MessageContent {
  kind: ContentKind;
  text?: string;
  /** Channel-neutral details: attachments, location, link, event name. */
  payload?: Record<string, unknown>;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export type NormalizedEvent =
  | { type: 'message'; sender: SenderIdentity; content: MessageContent; providerMessageId?: string }
  | { type: 'status'; providerMessageId: string; status: DeliveryStatus; errorCode?: string; errorMessage?: string }
  | { type: 'ignored'; reason: string };

/** A channel as an adapter sees it: its id and its whole parsed config, secrets included. */
export interface ChannelContext<Config> {
  id: string;
  name: string;
  config: Config;
  /** The address providers reach the hub at (for callback URLs and signature checks). */
  publicBaseUrl: string | undefined;
  /** Whether outbound requests may reach loopback and private addresses (development and tests). */
  allowPrivateNetwork: boolean;
  sendTimeoutMs: number;
  /** State shared by every hub process for this channel (access tokens, pauses, cursors). */
  store: ChannelStore;
}

/** A small key-value store scoped to one channel, shared across hub processes (Redis). */
export interface ChannelStore {
  get(key: string): Promise<string | null>;
  /** Sets a value, expiring after `ttlMs` when given. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Runs `fn` while holding a lock that no other process holds for the same key; waits up to
   * `waitMs` for it. The lock lapses after `ttlMs` should its holder die.
   */
  withLock<T>(key: string, options: { ttlMs: number; waitMs: number }, fn: () => Promise<T>): Promise<T>;
}

export interface OutboundMessage {
  id: string;
  conversationId: string;
  contentKind: ContentKind;
  text: string | null;
  payload: Record<string, unknown>;
  recipient: { kind: IdentityKind; value: string };
}

/** What `normalize` may use besides the payload. */
export interface NormalizeTools {
  /**
   * Keeps a file the message carries (fetched from the provider) and returns its descriptor, to
   * be listed in the content payload's `attachments`; the message is linked to it when stored.
   */
  storeAttachment(file: { data: Buffer; contentType: string; fileName?: string | null }): Promise<AttachmentRef>;
}

export interface AttachmentRef {
  id: string;
  contentType: string;
  fileName: string | null;
  size: number;
}

export type SendResult =
  | { outcome: 'sent'; providerMessageId?: string }
  /** Worth another attempt later (throttling, 5xx, network); `retryAfterMs` when the provider said when. */
  | { outcome: 'retryable'; code: string; message: string; retryAfterMs?: number }
  /** Will fail again the same way; `code` is the provider's own, shown to agents. */
  | { outcome: 'permanent'; code: string; message: string }
  /** The request may have reached the provider: never re-sent blindly. */
  | { outcome: 'unknown'; message: string };

/**
 * The contract every channel implements. The server calls `verifyInbound` on the provider's
 * request and stores the accepted events before answering; a worker later calls `normalize` on
 * each stored event and `send` for each outbound message.
 */
export interface ChannelAdapter<Config = unknown> {
  type: ChannelType;
  /** Human-readable name for the admin console. */
  displayName: string;
  /** The whole channel config, secrets included. */
  configSchema: z.ZodType<Config>;
  /** Config fields kept encrypted at rest and never returned by the API. */
  secretFields: readonly string[];
  /** Identity kinds this channel can deliver to. */
  reachableKinds: readonly IdentityKind[];
  /** Authenticates and splits a provider request. Must not touch the database. */
  verifyInbound(request: InboundHttpRequest, channel: ChannelContext<Config>): Promise<VerifyResult>;
  /**
   * Turns a stored event payload into a channel-neutral event. Throwing counts as a failed
   * attempt (retried later); throwing PermanentEventError dead-letters the event at once.
   */
  normalize(payload: unknown, channel: ChannelContext<Config>, tools: NormalizeTools): Promise<NormalizedEvent>;
  send(message: OutboundMessage, channel: ChannelContext<Config>): Promise<SendResult>;
  /** Checks credentials and reachability of the provider, for the admin's "test" button. */
  testConnection?(channel: ChannelContext<Config>): Promise<{ ok: boolean; message: string }>;
}

// Each adapter's config type is its own; the registry only promises "an adapter of this type".
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyChannelAdapter = ChannelAdapter<any>;
export type AdapterRegistry = { [T in ChannelType]: AnyChannelAdapter & { type: T } };

/** Thrown by `normalize` for an event that can never be processed as it is (a malformed payload). */
export class PermanentEventError extends Error {
  override name = 'PermanentEventError';
}
