import type { z } from 'zod';
import type { consentStatuses, ContentKind, IdentityKind, PushPlatform } from '../db/schema.js';

/** Every channel type the hub knows. Adding one here without registering an adapter fails to compile. */
export const channelTypes = ['api', 'sms_twilio', 'wechat', 'app', 'webchat', 'email'] as const;
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

/**
 * Something a customer's message asks of the hub besides being stored, e.g. an SMS keyword:
 * STOP changes consent, HELP gets an automatic answer. Applied in the transaction that stores it.
 */
export type MessageAction =
  | { type: 'consent'; status: (typeof consentStatuses)[number]; source: string }
  /** Queued as a transactional reply to the sender on the same channel. */
  | { type: 'auto_reply'; text: string };

/**
 * Which conversation a message continues, for channels that thread (email). Tried before the
 * contact's open conversation; only conversations of the same contact are joined.
 */
export interface ThreadHint {
  /** Provider ids of earlier messages this one answers, most direct first (In-Reply-To, then References). */
  providerMessageIds: string[];
  /** A conversation the hub itself named in the address replied to (a signed reply token). */
  conversationId?: string;
}

export type NormalizedEvent =
  | {
      type: 'message';
      sender: SenderIdentity;
      content: MessageContent;
      providerMessageId?: string;
      actions?: MessageAction[];
      threadHint?: ThreadHint;
    }
  | {
      type: 'status';
      providerMessageId: string;
      status: DeliveryStatus;
      errorCode?: string;
      errorMessage?: string;
      /** The recipient can never be reached (a hard bounce): later sends to it on this channel fail at once. */
      suppressRecipient?: boolean;
    }
  | { type: 'ignored'; reason: string };

/** A channel as an adapter sees it: its id and its whole parsed config, secrets included. */
export interface ChannelContext<Config> {
  id: string;
  name: string;
  config: Config;
  /**
   * The address providers reach the hub at (for callback URLs and signature checks): the
   * channel's own `publicBaseUrl` config when it has one, else the hub's PUBLIC_BASE_URL.
   */
  publicBaseUrl: string | undefined;
  /** Whether outbound requests may reach loopback and private addresses (development and tests). */
  allowPrivateNetwork: boolean;
  sendTimeoutMs: number;
  /** State shared by every hub process for this channel (access tokens, pauses, cursors). */
  store: ChannelStore;
  /** For conditions an operator must act on (a provider quota exhausted); absent in bare contexts. */
  logger?: ChannelLogger;
  /** The push devices registered on this channel; set wherever the hub loads a channel. */
  devices?: PushDeviceDirectory;
}

export interface PushDevice {
  id: string;
  platform: PushPlatform;
  token: string;
  /** The language tag of the customer using the device (their contact's), for the notification's words. */
  language: string | null;
}

/** The app installs a push channel notifies, kept by the hub (the app registers them through its API). */
export interface PushDeviceDirectory {
  /** The active devices of the recipient on this channel. */
  activeFor(recipient: { kind: IdentityKind; value: string }): Promise<PushDevice[]>;
  /** Stops pushing to a device the provider reported as invalid or unregistered. */
  deactivate(deviceId: string, reason: string): Promise<void>;
}

export interface ChannelLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** What the hub knows about a contact on a channel when a message to them is queued. */
export interface ReachFacts {
  /** When the contact last wrote (or otherwise interacted) on this channel; null if never. */
  lastInboundAt: Date | null;
  contentKind: ContentKind;
  now: Date;
}

export type ReachVerdict = { ok: true } | { ok: false; reason: string };

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
  /** Announces a message to this channel's live listeners in every hub process (open sockets). */
  publish(message: string): Promise<void>;
}

export interface OutboundMessage {
  id: string;
  conversationId: string;
  contentKind: ContentKind;
  text: string | null;
  payload: Record<string, unknown>;
  recipient: { kind: IdentityKind; value: string };
  /** The customer's latest message in the conversation on this channel, for channels that thread replies (email). */
  inReplyTo?: { providerMessageId: string; payload: Record<string, unknown> };
  /** Files linked to the message. */
  attachments?: Array<{ data: Buffer; contentType: string; fileName: string | null }>;
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

/** What `send` may use besides the message. */
export interface SendTools {
  /** The bytes of a file the message carries (listed in its payload's `attachments`). */
  readAttachment(id: string): Promise<{ data: Buffer; contentType: string; fileName: string | null }>;
}

export type SendResult =
  | { outcome: 'sent'; providerMessageId?: string }
  /**
   * Worth another attempt later (throttling, 5xx, network); `retryAfterMs` when the provider said
   * when. `spendsAttempt: false` when the provider only asked to slow down (rate limit): the
   * retry does not count against the message's attempts.
   */
  | { outcome: 'retryable'; code: string; message: string; retryAfterMs?: number; spendsAttempt?: false }
  /**
   * Will fail again the same way; `code` is the provider's own, shown to agents. `optOut` when
   * the provider refused because the recipient opted out: the hub records it as the consent in force.
   */
  | { outcome: 'permanent'; code: string; message: string; optOut?: { source: string } }
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
  send(message: OutboundMessage, channel: ChannelContext<Config>, tools: SendTools): Promise<SendResult>;
  /**
   * Whether the channel may deliver this message now (WeChat only lets customer-service messages
   * through within 48 hours of the customer's last interaction). Checked when the message is
   * queued; a refusal answers the API caller with its reason instead of failing later.
   */
  canReachNow?(facts: ReachFacts): ReachVerdict;
  /**
   * How long after the customer's last interaction free-form messages may go out, for channels
   * that have such a window (WeChat: 48 hours), so the console can say until when before a send
   * is refused. `canReachNow` stays the judge of each send.
   */
  replyWindowMs?: number;
  /** The template messages this config offers, by the name a send picks them by, with the variables each needs. */
  listTemplates?(config: Config): Array<{ name: string; variables: string[] }>;
  /** Checks credentials and reachability of the provider, for the admin's "test" button. */
  testConnection?(channel: ChannelContext<Config>): Promise<{ ok: boolean; message: string }>;
  /**
   * Every host the config makes the hub connect to (base URLs, callback URLs, SMTP and IMAP
   * hosts), by config field. The hub refuses a config whose target is a private, loopback or
   * link-local address (unless OUTBOUND_ALLOW_PRIVATE) when it is saved and before it is tested;
   * connections themselves go through `core/security/outbound-http.ts` as well.
   */
  outboundTargets?(config: Config): Array<{ field: string; target: string }>;
}

// Each adapter's config type is its own; the registry only promises "an adapter of this type".
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyChannelAdapter = ChannelAdapter<any>;
export type AdapterRegistry = { [T in ChannelType]: AnyChannelAdapter & { type: T } };

/** Thrown by `normalize` for an event that can never be processed as it is (a malformed payload). */
export class PermanentEventError extends Error {
  override name = 'PermanentEventError';
}
