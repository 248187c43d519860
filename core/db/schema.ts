import { sql, type SQLWrapper } from 'drizzle-orm';
import {
  bigint,
  customType,
  date,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const identityKinds = [
  'phone',
  'email',
  'wechat_openid',
  'wechat_unionid',
  'app_user',
  'web_visitor',
  'external_id',
] as const;
export type IdentityKind = (typeof identityKinds)[number];

export const userRoles = ['admin', 'supervisor', 'agent', 'marketer'] as const;
export type UserRole = (typeof userRoles)[number];

export const routingStatuses = ['queued', 'assigned'] as const;
export type RoutingStatus = (typeof routingStatuses)[number];

export const agentPresences = ['online', 'busy', 'away', 'offline'] as const;
export type AgentPresence = (typeof agentPresences)[number];

export const conversationStatuses = ['open', 'pending', 'resolved'] as const;
export type ConversationStatus = (typeof conversationStatuses)[number];

/**
 * `internal` is a staff note: stored with the conversation's messages for agents to read, never
 * sent, and never shown to the customer.
 */
export const messageDirections = ['inbound', 'outbound', 'internal'] as const;
export type MessageDirection = (typeof messageDirections)[number];
export const authorKinds = ['contact', 'agent', 'bot', 'system'] as const;
export const contentKinds = [
  'text',
  'image',
  'audio',
  'video',
  'file',
  'location',
  'link',
  'event',
  'template',
] as const;
export type ContentKind = (typeof contentKinds)[number];

/**
 * Message status. Inbound messages are `received`. Outbound ones move
 * queued → sending → sent → delivered → read, or end `failed` (permanent provider error or
 * retries exhausted) or `unknown` (the request may have left; never re-sent blindly).
 */
export const messageStatuses = [
  'received',
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'failed',
  'unknown',
] as const;
export type MessageStatus = (typeof messageStatuses)[number];

export const inboundEventStatuses = ['pending', 'processed', 'dead'] as const;

/** The line a queued conversation waits in: its team's, or the common one (no team) as the nil uuid. */
export const queueLine = (teamId: SQLWrapper) => sql`coalesce(${teamId}, '00000000-0000-0000-0000-000000000000'::uuid)`;

const inList = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash'),
    role: text('role', { enum: userRoles }).notNull(),
    disabled: boolean('disabled').notNull().default(false),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email), check('users_role_check', inList('role', userRoles))],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    /** SHA-256 of the token: the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash)],
);

/**
 * Console sign-in sessions. The browser holds the token in a cookie; only its SHA-256 is kept.
 * A session ends at `expires_at` (the absolute lifetime), when idle for longer than the
 * configured time since `last_seen_at`, or when revoked.
 */
export const userSessions = pgTable(
  'user_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [
    uniqueIndex('user_sessions_token_hash_key').on(t.tokenHash),
    index('user_sessions_user_idx').on(t.userId).where(sql`revoked_at is null`),
  ],
);

export const channels = pgTable(
  'channels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    /** Non-secret settings, returned by the API as they are. */
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    /** Secret settings as one AES-256-GCM envelope; never returned by the API. */
    secrets: text('secrets'),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** When the provider last reached the hub on this channel; written at most every few seconds (see inbound-events). */
    lastInboundAt: timestamp('last_inbound_at', { withTimezone: true }),
  },
  (t) => [index('channels_type_idx').on(t.type)],
);

export const contacts = pgTable(
  'contacts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name'),
    language: text('language'),
    timezone: text('timezone'),
    tier: text('tier'),
    attributes: jsonb('attributes').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    birthday: date('birthday', { mode: 'string' }),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** Set when the contact was merged into another: the row stays as a tombstone that still resolves. */
    mergedIntoId: uuid('merged_into_id'),
  },
  // Conversation search by name (pg_trgm): a new contact costs one more index entry, a message none.
  (t) => [index('contacts_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops'))],
);

export const contactIdentities = pgTable(
  'contact_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    kind: text('kind', { enum: identityKinds }).notNull(),
    value: text('value').notNull(),
    /**
     * Where the value is unique: '' for global kinds (phone, email, …), the channel id for kinds
     * that only mean something inside one channel (a WeChat openid belongs to one Official Account).
     */
    scope: text('scope').notNull().default(''),
    verified: boolean('verified').notNull().default(false),
    source: text('source').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('contact_identities_kind_scope_value_key').on(t.kind, t.scope, t.value),
    index('contact_identities_contact_idx').on(t.contactId),
    // Conversation search by phone, email, openid… anywhere in the value (pg_trgm).
    index('contact_identities_value_trgm_idx').using('gin', t.value.op('gin_trgm_ops')),
    check('contact_identities_kind_check', inList('kind', identityKinds)),
  ],
);

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    status: text('status', { enum: conversationStatuses }).notNull().default('open'),
    /** 0 low, 1 normal, 2 high, 3 urgent. */
    priority: smallint('priority').notNull().default(1),
    assigneeId: uuid('assignee_id').references(() => users.id),
    teamId: uuid('team_id'),
    lastChannelId: uuid('last_channel_id').references(() => channels.id),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Every channel the customer has written on in this conversation, first use first. */
    seenChannelIds: uuid('seen_channel_ids').array().notNull().default(sql`'{}'::uuid[]`),
    /** Null while the bot has the conversation (or once resolved); set by routing after handover. */
    routingStatus: text('routing_status', { enum: routingStatuses }),
    handedOverAt: timestamp('handed_over_at', { withTimezone: true }),
    /** When it joined the waiting queue; kept when it goes back, so it does not lose its place. */
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    assignedAt: timestamp('assigned_at', { withTimezone: true }),
    requiredSkills: text('required_skills').array().notNull().default(sql`'{}'::text[]`),
    /** Primary language subtag (zh, en) agents must speak; null when unknown. */
    routingLanguage: text('routing_language'),
    routingChannelType: text('routing_channel_type'),
    routingRuleId: uuid('routing_rule_id'),
    /** Name of the SLA policy a routing rule chose; the SLA clocks read it. */
    slaPolicy: text('sla_policy'),
    queueNoticePosition: integer('queue_notice_position'),
    queueNoticeAt: timestamp('queue_notice_at', { withTimezone: true }),
  },
  (t) => [
    index('conversations_contact_idx').on(t.contactId, t.lastMessageAt),
    index('conversations_status_idx').on(t.status, t.lastMessageAt),
    index('conversations_assignee_idx').on(t.assigneeId),
    index('conversations_queue_idx')
      .on(t.priority.desc().nullsFirst(), t.queuedAt, t.id)
      .where(sql`routing_status = 'queued'`),
    // Each team's line in the order of conversations_queue_idx, so a place in line is one range count.
    index('conversations_queue_line_idx')
      .on(sql`${queueLine(t.teamId)}`, sql`(-${t.priority})`, t.queuedAt, t.id)
      .where(sql`routing_status = 'queued'`),
    // "Resolved today": partial, so the updates every customer message makes to open
    // conversations add no entry to it.
    index('conversations_resolved_idx').on(t.resolvedAt).where(sql`status = 'resolved'`),
    check('conversations_routing_status_check', inList('routing_status', routingStatuses)),
    check('conversations_status_check', inList('status', conversationStatuses)),
    check('conversations_priority_check', sql`priority between 0 and 3`),
  ],
);

export const inboundEvents = pgTable(
  'inbound_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    /** The provider's id for the event (API messageId, WeChat MsgId, Twilio MessageSid, …). */
    dedupeKey: text('dedupe_key').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status', { enum: inboundEventStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('inbound_events_channel_dedupe_key').on(t.channelId, t.dedupeKey),
    // The sweeper's scan: only unprocessed rows are indexed, so the index stays small.
    index('inbound_events_pending_idx').on(t.receivedAt).where(sql`status = 'pending'`),
    // A channel's latest dead-lettered event (channel health); only dead rows are indexed.
    index('inbound_events_dead_idx').on(t.channelId, t.receivedAt).where(sql`status = 'dead'`),
    check('inbound_events_status_check', inList('status', inboundEventStatuses)),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    /** The identity the message came from (inbound) or goes to (outbound). */
    identityId: uuid('identity_id').references(() => contactIdentities.id),
    direction: text('direction', { enum: messageDirections }).notNull(),
    authorKind: text('author_kind', { enum: authorKinds }).notNull(),
    authorId: uuid('author_id').references(() => users.id),
    contentKind: text('content_kind', { enum: contentKinds }).notNull(),
    text: text('text'),
    /** The channel-neutral content (attachments, location, link, event) beyond the text. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    providerMessageId: text('provider_message_id'),
    inboundEventId: uuid('inbound_event_id').references(() => inboundEvents.id),
    status: text('status', { enum: messageStatuses }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    idempotencyKey: text('idempotency_key'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Insertion order, so messages created in the same microsecond still list in order. */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
  },
  (t) => [
    index('messages_conversation_idx').on(t.conversationId, t.seq),
    index('messages_contact_idx').on(t.contactId, t.seq),
    // Partial: most rows leave one of these columns empty, and an index entry per row is CPU the
    // database spends on every insert.
    uniqueIndex('messages_inbound_event_key').on(t.inboundEventId).where(sql`inbound_event_id is not null`),
    uniqueIndex('messages_idempotency_key').on(t.idempotencyKey).where(sql`idempotency_key is not null`),
    index('messages_provider_id_idx').on(t.channelId, t.providerMessageId).where(sql`provider_message_id is not null`),
    index('messages_outbound_pending_idx')
      .on(t.status, t.updatedAt)
      .where(sql`status in ('queued', 'sending')`),
    // A channel's latest failed send (channel health); a message enters it only when it fails.
    index('messages_failed_idx').on(t.channelId, t.updatedAt).where(sql`status in ('failed', 'unknown')`),
    check('messages_status_check', inList('status', messageStatuses)),
    check('messages_direction_check', inList('direction', messageDirections)),
    check('messages_content_kind_check', inList('content_kind', contentKinds)),
  ],
);

/**
 * Admin and agent actions, append-only: triggers refuse UPDATE, DELETE and TRUNCATE, and each row
 * is a link of a hash chain. On insert a trigger numbers the row (`seq`) and sets `hash` to
 * sha256(previous row's hash || the row's canonical content), serializing appends on the
 * `audit_chain` head row inside the inserting transaction (see migrations/0014 and core/audit.ts).
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The row's place in the chain, set by the trigger. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    actorUserId: uuid('actor_user_id').references(() => users.id),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    /** The client address of the request that caused the action, when one did. */
    ip: text('ip'),
    createdAt: createdAt(),
    /** Hex sha256 of the previous row's hash and this row's content, set by the trigger. */
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_log_seq_key').on(t.seq),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.createdAt),
    index('audit_log_actor_idx').on(t.actorUserId, t.seq),
  ],
);

/** The end of the audit chain: one row, locked by every append until its transaction ends. */
export const auditChain = pgTable(
  'audit_chain',
  {
    id: smallint('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [check('audit_chain_single_row', sql`${t.id} = 1`)],
);

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * Files customers and agents exchange (images, voice, documents). Kept in the database so they
 * are archived, backed up and access-controlled with the messages that carry them.
 */
export const attachments = pgTable(
  'attachments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    messageId: uuid('message_id').references(() => messages.id),
    channelId: uuid('channel_id').references(() => channels.id),
    contentType: text('content_type').notNull(),
    fileName: text('file_name'),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    data: bytea('data').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('attachments_message_idx').on(t.messageId)],
);

export const consentStatuses = ['opted_in', 'opted_out'] as const;

/**
 * A contact's consent to be contacted on a channel (SMS STOP, email unsubscribe, WeChat
 * unsubscribe). Campaigns and non-transactional sends check it; the latest row per contact and
 * channel is in force, and every change is kept with its source for the audit trail.
 */
export const consents = pgTable(
  'consents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    status: text('status', { enum: consentStatuses }).notNull(),
    /** What recorded it, e.g. `sms:STOP`, `email:one-click`, `api`. */
    source: text('source').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('consents_contact_channel_idx').on(t.contactId, t.channelId, t.createdAt),
    check('consents_status_check', inList('status', consentStatuses)),
  ],
);

/**
 * Knowledge-base articles the bot answers from and agents are offered. `questions` are the ways
 * customers ask (any language or script); `channelAnswers` holds shorter or adapted answers per
 * channel type (an SMS cannot carry what a web chat can).
 */
export const kbArticles = pgTable(
  'kb_articles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    title: text('title').notNull(),
    questions: jsonb('questions').$type<string[]>().notNull(),
    answer: text('answer').notNull(),
    channelAnswers: jsonb('channel_answers').$type<Record<string, string>>().notNull().default({}),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('kb_articles_updated_idx').on(t.updatedAt)],
);

/** A channel's bot settings; a channel without a row uses the defaults (bot off). */
export const botSettings = pgTable('bot_settings', {
  channelId: uuid('channel_id')
    .primaryKey()
    .references(() => channels.id),
  enabled: boolean('enabled').notNull(),
  /** The other settings, validated by the bot's schema and merged over its defaults. */
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  updatedAt: updatedAt(),
});

export const botSessionStates = ['active', 'handed_over'] as const;

/**
 * The bot's part of a conversation: how often it failed and whether it handed over. The
 * handover is announced once: `announce_claimed_at` leases the announcement to one worker and
 * `announced_at` records that the event went out.
 */
export const botSessions = pgTable(
  'bot_sessions',
  {
    conversationId: uuid('conversation_id')
      .primaryKey()
      .references(() => conversations.id),
    state: text('state', { enum: botSessionStates }).notNull().default('active'),
    failures: integer('failures').notNull().default(0),
    handoverReason: text('handover_reason'),
    handoverPriority: smallint('handover_priority'),
    handedOverAt: timestamp('handed_over_at', { withTimezone: true }),
    announceClaimedAt: timestamp('announce_claimed_at', { withTimezone: true }),
    announcedAt: timestamp('announced_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  () => [check('bot_sessions_state_check', inList('state', botSessionStates))],
);

export const pushPlatforms = ['fcm', 'apns'] as const;
export type PushPlatform = (typeof pushPlatforms)[number];

/**
 * A mobile app install that receives push notifications for an app user on an app channel. A
 * token belongs to one install, so it is unique per channel and platform; when the push provider
 * reports it invalid the row is deactivated (kept for the audit trail) and no longer pushed to.
 */
export const appDevices = pgTable(
  'app_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    identityId: uuid('identity_id')
      .notNull()
      .references(() => contactIdentities.id),
    /** The `sub` of the app-user token the bank's backend signed: the bank's id for the customer. */
    appUserId: text('app_user_id').notNull(),
    platform: text('platform', { enum: pushPlatforms }).notNull(),
    token: text('token').notNull(),
    active: boolean('active').notNull().default(true),
    /** Why the device stopped receiving pushes: the provider's code, `replaced` or `unregistered`. */
    deactivatedReason: text('deactivated_reason'),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('app_devices_channel_platform_token_key').on(t.channelId, t.platform, t.token),
    index('app_devices_active_user_idx').on(t.channelId, t.appUserId).where(sql`active`),
    check('app_devices_platform_check', inList('platform', pushPlatforms)),
  ],
);

/**
 * Recipients a channel must not send to again (an email address that hard-bounced). Unlike an
 * opt-out, this stops every send, transactional ones included: the address does not exist.
 */
export const suppressions = pgTable(
  'suppressions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    identityId: uuid('identity_id')
      .notNull()
      .references(() => contactIdentities.id),
    /** The provider's code that caused it, e.g. the DSN status `5.1.1`. */
    code: text('code').notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('suppressions_channel_identity_key').on(t.channelId, t.identityId)],
);

/**
 * One merge of two contacts, automatic or manual: who or which rule did it, the identity that
 * linked them, and exactly what moved, so that undo can put every row back.
 */
export const contactMerges = pgTable(
  'contact_merges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    survivorId: uuid('survivor_id')
      .notNull()
      .references(() => contacts.id),
    mergedId: uuid('merged_id')
      .notNull()
      .references(() => contacts.id),
    /** `manual`, or `auto:<identity kind>` for a merge a verified identity triggered. */
    rule: text('rule').notNull(),
    actorUserId: uuid('actor_user_id').references(() => users.id),
    reason: jsonb('reason').$type<Record<string, unknown>>().notNull().default({}),
    moved: jsonb('moved').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    undoneAt: timestamp('undone_at', { withTimezone: true }),
    undoneByUserId: uuid('undone_by_user_id').references(() => users.id),
    /** What the undo moved back, kept for the audit trail. */
    undo: jsonb('undo').$type<Record<string, unknown>>(),
  },
  (t) => [index('contact_merges_survivor_idx').on(t.survivorId, t.createdAt), index('contact_merges_merged_idx').on(t.mergedId, t.createdAt)],
);

/**
 * The admin's rules for automatic merges, one row per identity kind that differs from the
 * built-in defaults.
 */
export const identityMergeRules = pgTable('identity_merge_rules', {
  kind: text('kind', { enum: identityKinds }).primaryKey(),
  /** A verified identity of this kind that two contacts share merges them. */
  autoMerge: boolean('auto_merge').notNull(),
  /** A contact may carry several verified values of this kind without blocking a merge. */
  allowSeveral: boolean('allow_several').notNull(),
  updatedAt: updatedAt(),
});

/** Two contacts that an unverified identity links: offered to agents, never merged automatically. */
export const mergeSuggestions = pgTable(
  'merge_suggestions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    otherContactId: uuid('other_contact_id')
      .notNull()
      .references(() => contacts.id),
    kind: text('kind', { enum: identityKinds }).notNull(),
    value: text('value').notNull(),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('merge_suggestions_pair_key').on(t.contactId, t.otherContactId, t.kind, t.value),
    index('merge_suggestions_other_idx').on(t.otherContactId),
  ],
);

export const teams = pgTable(
  'teams',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('teams_name_key').on(t.name)],
);

/**
 * A user's routing profile. `activeCount` and `channelLoad` count the conversations assigned to
 * the agent; they are only changed by the conditional updates in core/routing, which refuse to
 * go over `capacity` (and `channelCapacity[type]`), so concurrent routers cannot overfill an agent.
 */
export const agentProfiles = pgTable(
  'agent_profiles',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id),
    presence: text('presence', { enum: agentPresences }).notNull().default('offline'),
    presenceChangedAt: timestamp('presence_changed_at', { withTimezone: true }).notNull().defaultNow(),
    skills: text('skills').array().notNull().default(sql`'{}'::text[]`),
    languages: text('languages').array().notNull().default(sql`'{}'::text[]`),
    teamIds: uuid('team_ids').array().notNull().default(sql`'{}'::uuid[]`),
    capacity: integer('capacity').notNull().default(5),
    /** Optional lower limits per channel type, e.g. { "wechat": 2 }. */
    channelCapacity: jsonb('channel_capacity').$type<Record<string, number>>().notNull().default({}),
    activeCount: integer('active_count').notNull().default(0),
    channelLoad: jsonb('channel_load').$type<Record<string, number>>().notNull().default({}),
    /** Last assignment; the longest idle agent wins ties and round-robin turns. */
    lastAssignedAt: timestamp('last_assigned_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('agent_profiles_online_idx').on(t.activeCount).where(sql`presence = 'online'`),
    check('agent_profiles_presence_check', inList('presence', agentPresences)),
    // Not bounded by capacity here: an admin may lower a capacity below the current load.
    check('agent_profiles_load_check', sql`active_count >= 0`),
  ],
);

/** Routing rules, evaluated by ascending position; the first that matches decides. */
export const routingRules = pgTable(
  'routing_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    position: integer('position').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    conditions: jsonb('conditions').$type<Record<string, unknown>>().notNull().default({}),
    actions: jsonb('actions').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('routing_rules_position_idx').on(t.position)],
);

/** Hub-wide routing settings: one row (id 1), created with defaults on first read. */
export const routingSettings = pgTable('routing_settings', {
  id: smallint('id').primaryKey().default(1),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  updatedAt: updatedAt(),
});

/**
 * Every assignment of a conversation to an agent, open until it ends (resolve, transfer, agent
 * offline). At most one open row per conversation: the database itself refuses a double assignment.
 */
export const conversationAssignments = pgTable(
  'conversation_assignments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => users.id),
    /** What made it: queue, reopen, transfer, reassign. */
    reason: text('reason').notNull(),
    note: text('note'),
    actorUserId: uuid('actor_user_id').references(() => users.id),
    assignedAt: timestamp('assigned_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endReason: text('end_reason'),
  },
  (t) => [
    uniqueIndex('conversation_assignments_open_key').on(t.conversationId).where(sql`ended_at is null`),
    index('conversation_assignments_agent_idx').on(t.agentId, t.assignedAt),
    index('conversation_assignments_conversation_idx').on(t.conversationId, t.assignedAt),
    // The queue notices' wait estimate reads the latest resolved assignments on every notice.
    index('conversation_assignments_resolved_idx').on(t.endedAt.desc().nullsFirst()).where(sql`end_reason = 'resolved'`),
  ],
);

/** Transfers between agents and teams, with the note the sender left for the receiver. */
export const conversationTransfers = pgTable(
  'conversation_transfers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    fromAgentId: uuid('from_agent_id').references(() => users.id),
    toAgentId: uuid('to_agent_id').references(() => users.id),
    toTeamId: uuid('to_team_id').references(() => teams.id),
    note: text('note'),
    actorUserId: uuid('actor_user_id')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [index('conversation_transfers_conversation_idx').on(t.conversationId, t.createdAt)],
);

/**
 * Business calendars of SLA policies: opening periods per ISO weekday (1 = Monday) in local
 * time, holidays (closed dates) and make-up working days (调休, dates open with Monday's hours).
 */
export const slaCalendars = pgTable(
  'sla_calendars',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    timeZone: text('time_zone').notNull(),
    /** `{ "1": [{ "from": "09:00", "to": "18:00" }], … }`; a weekday left out is closed. */
    hours: jsonb('hours').$type<Record<string, Array<{ from: string; to: string }>>>().notNull().default({}),
    holidays: text('holidays').array().notNull().default(sql`'{}'::text[]`),
    workdays: text('workdays').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('sla_calendars_name_key').on(t.name)],
);

/** SLA policies: thresholds per target, a warning share, a calendar and the escalation on breach. */
export const slaPolicies = pgTable(
  'sla_policies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** Null: the clocks run around the clock. */
    calendarId: uuid('calendar_id').references(() => slaCalendars.id),
    firstResponseSeconds: integer('first_response_seconds'),
    nextResponseSeconds: integer('next_response_seconds'),
    resolutionSeconds: integer('resolution_seconds'),
    /** A warning at this share of the threshold; null for none. */
    warnPercent: smallint('warn_percent').default(80),
    isDefault: boolean('is_default').notNull().default(false),
    escalation: jsonb('escalation').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('sla_policies_name_key').on(t.name),
    uniqueIndex('sla_policies_default_key').on(t.isDefault).where(sql`is_default`),
  ],
);

export const slaTargets = ['first_response', 'next_response', 'resolution'] as const;
export type SlaTarget = (typeof slaTargets)[number];

/**
 * One clock per conversation and target. `cycle` counts restarts (each next-response wait, each
 * reopen), so timers and events of an earlier cycle are recognised as stale.
 */
export const slaClocks = pgTable(
  'sla_clocks',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    target: text('target', { enum: slaTargets }).notNull(),
    policyId: uuid('policy_id')
      .notNull()
      .references(() => slaPolicies.id),
    cycle: integer('cycle').notNull().default(1),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    warnAt: timestamp('warn_at', { withTimezone: true }),
    /** Set when the clock stops: met (answered or resolved in time or late) or cancelled. */
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
    warnedAt: timestamp('warned_at', { withTimezone: true }),
    breachedAt: timestamp('breached_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('sla_clocks_key').on(t.conversationId, t.target),
    // The sweeper's scans: only running clocks still owing a breach or a warning are indexed.
    index('sla_clocks_due_idx').on(t.dueAt).where(sql`stopped_at is null and breached_at is null`),
    index('sla_clocks_warn_idx').on(t.warnAt).where(sql`stopped_at is null and warned_at is null and warn_at is not null`),
    check('sla_clocks_target_check', inList('target', slaTargets)),
  ],
);

export const slaEventKinds = ['warning', 'breach'] as const;

/** Each warning and breach, stored once, with who and what it concerned at the time. */
export const slaEvents = pgTable(
  'sla_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    target: text('target', { enum: slaTargets }).notNull(),
    kind: text('kind', { enum: slaEventKinds }).notNull(),
    cycle: integer('cycle').notNull(),
    policyId: uuid('policy_id')
      .notNull()
      .references(() => slaPolicies.id),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    firedAt: timestamp('fired_at', { withTimezone: true }).notNull().defaultNow(),
    /** How long after its time it was recorded, in milliseconds. */
    lateMs: integer('late_ms').notNull(),
    assigneeId: uuid('assignee_id'),
    teamId: uuid('team_id'),
    channelId: uuid('channel_id'),
  },
  (t) => [
    uniqueIndex('sla_events_key').on(t.conversationId, t.target, t.cycle, t.kind),
    index('sla_events_fired_idx').on(t.firedAt),
    check('sla_events_kind_check', inList('kind', slaEventKinds)),
  ],
);

/** The satisfaction survey sent when a conversation is resolved: at most one per conversation. */
export const csatSurveys = pgTable(
  'csat_surveys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    /** The agent who had the conversation when it was resolved; the rating is theirs. */
    agentId: uuid('agent_id').references(() => users.id),
    teamId: uuid('team_id'),
    messageId: uuid('message_id'),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    rating: smallint('rating'),
    comment: text('comment'),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    replyMessageId: uuid('reply_message_id'),
  },
  (t) => [
    uniqueIndex('csat_surveys_conversation_key').on(t.conversationId),
    index('csat_surveys_open_idx').on(t.contactId, t.sentAt).where(sql`answered_at is null`),
    index('csat_surveys_sent_idx').on(t.sentAt),
    check('csat_surveys_rating_check', sql`rating between 1 and 5`),
  ],
);

/** Hub-wide CSAT settings: one row (id 1), defaults until an admin saves. */
export const csatSettings = pgTable('csat_settings', {
  id: smallint('id').primaryKey().default(1),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  updatedAt: updatedAt(),
});

/** A marketer's saved segment: a filter in the audience language (core/campaigns/audience-filter.ts). */
export const audiences = pgTable('audiences', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  filter: jsonb('filter').$type<Record<string, unknown>>().notNull(),
  createdBy: uuid('created_by').references(() => users.id),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** A campaign message for one channel type, with `{{variable}}` placeholders. */
export const campaignTemplates = pgTable('campaign_templates', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  channelType: text('channel_type').notNull(),
  /** The email subject or push title; unused by SMS and chat channels. */
  subject: text('subject'),
  body: text('body').notNull(),
  createdBy: uuid('created_by').references(() => users.id),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const campaignKinds = ['one_off', 'recurring', 'triggered'] as const;
export const campaignStatuses = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'] as const;
export type CampaignStatus = (typeof campaignStatuses)[number];

/** Outreach to an audience (or to the contacts a bank system names, for triggered campaigns) on one channel. */
export const campaigns = pgTable(
  'campaigns',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    kind: text('kind', { enum: campaignKinds }).notNull(),
    status: text('status', { enum: campaignStatuses }).notNull().default('draft'),
    audienceId: uuid('audience_id').references(() => audiences.id),
    templateId: uuid('template_id')
      .notNull()
      .references(() => campaignTemplates.id),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => channels.id),
    /** `marketing` respects opt-outs and the frequency cap; `transactional` (service notices) neither. */
    category: text('category').notNull().default('marketing'),
    /** Settings: scheduledAt, cron and its timeZone, quiet hours, frequency cap, send rate. */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    createdBy: uuid('created_by').references(() => users.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('campaigns_status_idx').on(t.status),
    check('campaigns_kind_check', inList('kind', campaignKinds)),
    check('campaigns_status_check', inList('status', campaignStatuses)),
  ],
);

export const recipientStatuses = ['pending', 'deferred', 'queued', 'skipped'] as const;

/**
 * One contact in one run of a campaign (`run_key`: `once`, a recurring run's time, a trigger's
 * idempotency key). Unique per run and contact, so a repeated job never messages anyone twice.
 * Once `queued`, the message row carries the delivery status (sent, failed with its code).
 */
export const campaignRecipients = pgTable(
  'campaign_recipients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    campaignId: uuid('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    runKey: text('run_key').notNull(),
    contactId: uuid('contact_id')
      .notNull()
      .references(() => contacts.id),
    status: text('status', { enum: recipientStatuses }).notNull().default('pending'),
    /** Why it was skipped or deferred: opted_out, quiet_hours, frequency_cap, unreachable, … */
    reason: text('reason'),
    /** Event data a trigger passed, for the template's variables. */
    variables: jsonb('variables').$type<Record<string, string>>().notNull().default({}),
    messageId: uuid('message_id'),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('campaign_recipients_run_contact_key').on(t.campaignId, t.runKey, t.contactId),
    index('campaign_recipients_open_idx').on(t.campaignId, t.dueAt).where(sql`status in ('pending', 'deferred')`),
    check('campaign_recipients_status_check', inList('status', recipientStatuses)),
  ],
);
