import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import {
  createChannel,
  createChannelInput,
  getChannel,
  listChannels,
  testChannelConnection,
  updateChannel,
  updateChannelInput,
  type ChannelDeps,
} from '../../core/channels/channel-service.js';
import { getContact, listContacts } from '../../core/contacts/contact-queries.js';
import { getConversation, getMessage, listMessages, messagePageQuery } from '../../core/conversations/conversation-queries.js';
import { conversationListQuery, listConversations } from '../../core/conversations/conversation-list.js';
import { readChannelHealth } from '../../core/channels/channel-health.js';
import { inboundEvents, inboundEventStatuses } from '../../core/db/schema.js';
import { readAttachment } from '../../core/attachments/attachment-store.js';
import { HubError, notFound } from '../../core/errors.js';
import { requeueDeadInboundEvents } from '../../core/inbound/inbound-events.js';
import { queueAgentReply, replyInput } from '../../core/messages/outbound.js';
import { countSmsSegments, smsDraftInput } from '../../core/messages/sms-segments.js';
import { queueTemplateMessage, templateMessageInput } from '../../core/messages/template-message.js';
import { enqueueOrLeaveToSweeper } from '../enqueue.js';
import { botRoutes } from './bot.routes.js';
import { consoleRoutes } from './console.routes.js';
import { channelTypeRoutes } from './channel-types.routes.js';
import { identityRoutes } from './identity-routes.js';
import type { Runtime } from '../runtime.js';
import { routingRoutes } from './routing.routes.js';
import { slaRoutes } from './sla.routes.js';
import { auditRoutes } from './audit.routes.js';
import { campaignApiRoutes } from './campaigns.routes.js';
import { authRoutes } from './auth.routes.js';
import { apiTokenRoutes, userRoutes } from './users.routes.js';
import { allRoles, defineRoute, FileReply, pageQuery, staffRoles, type ApiRoute } from './route.js';
import { outboundMessageCreated } from '../../core/events.js';
import { recordAudit } from '../../core/audit.js';
import { mayReveal, presentMessage } from '../../core/security/message-view.js';
import { maskIdentityValue } from '../../core/security/masking.js';
import type { AuthenticatedUser } from '../../core/users/users.js';
import { messageViewer } from './message-masking.js';

const channelDeps = (runtime: Runtime): ChannelDeps => ({
  db: runtime.database.db,
  secretBox: runtime.secretBox,
  adapters: runtime.adapters,
  allowPrivateNetwork: runtime.config.OUTBOUND_ALLOW_PRIVATE,
});

/** Answers with a newly queued message and hands it to the pipeline (a repeated request is only answered). */
async function announceQueued(
  runtime: Runtime,
  user: AuthenticatedUser,
  { message, created }: { message: { id: string; conversationId: string; contactId: string; channelId: string }; created: boolean },
) {
  // Read before enqueueing: the answer shows the message as committed, not a worker's progress.
  const view = presentMessage(await getMessage(runtime.database.db, message.id), messageViewer(runtime, user));
  if (created) {
    await enqueueOrLeaveToSweeper(runtime, () =>
      runtime.events.publish([outboundMessageCreated(message)]),
    );
  }
  return view;
}

const channelRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/channels',
    summary:
      'List channels (secrets are never returned; `secretsSet` names the ones that are set), each with its health: when the provider last reached the hub (`lastInboundAt`, to within about 10 seconds) and the latest error (`lastError`: a failed or unknown-outcome send, or a dead-lettered inbound event, whichever is newer)',
    tag: 'channels',
    roles: ['admin', 'supervisor'],
    responds: {
      status: 200,
      description:
        "{ items: [Channel & { lastInboundAt, lastError: null | { source: 'outbound', code, message, at, messageId } | { source: 'inbound', code: 'dead_letter', message, at, inboundEventId } }] }",
    },
    handle: async ({ runtime }) => {
      const [channels, health] = await Promise.all([listChannels(channelDeps(runtime)), readChannelHealth(runtime.database.db)]);
      return { items: channels.map((channel) => ({ ...channel, lastInboundAt: null, lastError: null, ...health.get(channel.id) })) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/channels',
    summary: 'Create a channel; the config is validated against the channel type',
    tag: 'channels',
    roles: ['admin'],
    body: createChannelInput,
    responds: { status: 201, description: 'the Channel' },
    handle: ({ runtime, user, body }) => createChannel(channelDeps(runtime), user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/channels/:id',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: 'Get a channel',
    tag: 'channels',
    roles: ['admin', 'supervisor'],
    responds: { status: 200, description: 'the Channel' },
    handle: ({ runtime, params }) => getChannel(channelDeps(runtime), params.id!),
  }),
  defineRoute({
    method: 'patch',
    path: '/channels/:id',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: 'Update a channel; config fields given replace stored ones, secret fields left out are kept',
    tag: 'channels',
    roles: ['admin'],
    body: updateChannelInput,
    responds: { status: 200, description: 'the Channel' },
    handle: async ({ runtime, user, params, body }) => {
      const view = await updateChannel(channelDeps(runtime), user.id, params.id!, body);
      runtime.channels.invalidate(params.id!);
      return view;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/channels/:id/disable',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: 'Disable a channel: its webhooks are refused and nothing more is sent on it',
    tag: 'channels',
    roles: ['admin'],
    responds: { status: 200, description: 'the Channel' },
    handle: async ({ runtime, user, params }) => {
      const view = await updateChannel(channelDeps(runtime), user.id, params.id!, { enabled: false });
      runtime.channels.invalidate(params.id!);
      return view;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/channels/:id/test',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: "Check the channel's credentials and the provider's reachability",
    tag: 'channels',
    roles: ['admin'],
    responds: { status: 200, description: '{ ok, message }' },
    handle: async ({ runtime, params }) => {
      const channel = await runtime.channels.get(params.id!);
      if (!channel) throw notFound('channel', params.id!);
      return testChannelConnection(channel);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/channels/:id/sms-segments',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: 'How a draft travels on an SMS channel: encoding (GSM-7 or UCS-2) and segments, each billed as one SMS',
    tag: 'channels',
    roles: allRoles,
    body: smsDraftInput,
    responds: { status: 200, description: '{ encoding, characters, units, segments, perSegment, remainingInLastSegment, nonGsmCharacters }' },
    handle: async ({ runtime, params, body }) => {
      const channel = await getChannel(channelDeps(runtime), params.id!);
      if (channel.type !== 'sms_twilio') throw new HubError(422, 'not_sms', `channel ${channel.name} is not an SMS channel`);
      return countSmsSegments(body.text);
    },
  }),
];

const contactRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/contacts',
    summary: 'List contacts, newest first (merged contacts are left out; their ids still resolve)',
    tag: 'contacts',
    roles: allRoles,
    query: pageQuery,
    responds: { status: 200, description: '{ items: Contact[], nextCursor }' },
    handle: ({ runtime, user, query }) => listContacts(runtime.database.db, user, query),
  }),
  defineRoute({
    method: 'get',
    path: '/contacts/:id',
    access: 'contact',
    summary: 'Get a contact with all its identities (a marketer gets their values masked)',
    tag: 'contacts',
    roles: allRoles,
    responds: { status: 200, description: 'Contact with identities[]' },
    handle: async ({ runtime, user, params }) => {
      const contact = await getContact(runtime.database.db, params.id!);
      // Marketers work with audiences and aggregates: they learn a customer exists, not how to reach them.
      if (user.role !== 'marketer') return contact;
      return { ...contact, identities: contact.identities.map((identity) => ({ ...identity, value: maskIdentityValue(identity.kind, identity.value), masked: true })) };
    },
  }),
];

const conversationRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/conversations',
    summary:
      'List conversations for a console: most recently active first, or the queue in line order (`view=queue`). Filters: view (mine, queue, all), status, teamId, priority, channelId (the last one written on), assigneeId, contactId, q (contact name, identity values, and message text in the first 1,000 conversations of the list). Agents may list view=mine and view=queue, not view=all or another agent\'s conversations.',
    tag: 'conversations',
    roles: staffRoles,
    query: conversationListQuery,
    responds: {
      status: 200,
      description:
        '{ items: [Conversation & { contact: { id, name, tier }, lastChannel: { id, type, name } | null, lastMessage: { id, text (first 120 characters), truncated, contentKind, direction, authorKind, at } | null, team: { id, name } | null, assignee: { id, name } | null, waitingSeconds (while queued, else null), unansweredCount }], nextCursor }',
    },
    handle: async ({ runtime, user, query }) => {
      const page = await listConversations(runtime.database.db, user, query);
      const viewer = messageViewer(runtime, user);
      return { ...page, items: page.items.map((item) => ({ ...item, lastMessage: item.lastMessage && presentMessage(item.lastMessage, viewer) })) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id',
    access: 'conversation',
    summary: 'Get a conversation',
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: 'the Conversation' },
    handle: ({ runtime, params }) => getConversation(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/messages',
    access: 'conversation',
    summary: "List a conversation's messages, oldest first, or newest first with `order=desc` (the cursor then leads to older messages)",
    tag: 'conversations',
    roles: staffRoles,
    query: pageQuery.extend(messagePageQuery.shape),
    responds: { status: 200, description: '{ items: Message[], nextCursor }' },
    handle: async ({ runtime, user, params, query }) => {
      const page = await listMessages(runtime.database.db, params.id!, query);
      const viewer = messageViewer(runtime, user);
      return { ...page, items: page.items.map((message) => presentMessage(message, viewer)) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/conversations/:id/messages',
    access: 'conversation',
    summary:
      'Send an agent reply. It is queued and delivered through the pipeline on the channel the customer last wrote from, or on `channelId`. Repeating a request with the same Idempotency-Key returns the first message.',
    tag: 'conversations',
    roles: staffRoles,
    body: replyInput,
    headers: { 'Idempotency-Key': 'optional; makes retries of this request safe' },
    responds: { status: 202, description: 'the queued Message; poll GET /messages/:id for its status' },
    handle: async ({ runtime, user, params, body, req }) =>
      announceQueued(
        runtime,
        user,
        await queueAgentReply(
          { db: runtime.database.db, adapters: runtime.adapters },
          { conversationId: params.id!, authorId: user.id, idempotencyKey: req.get('idempotency-key'), input: body },
        ),
      ),
  }),
  defineRoute({
    method: 'post',
    path: '/conversations/:id/template-messages',
    access: 'conversation',
    summary:
      "Send one of the channel's configured template messages, e.g. on WeChat outside the 48-hour customer-service window. The channel checks the template name and that every variable has a value.",
    tag: 'conversations',
    roles: staffRoles,
    body: templateMessageInput,
    headers: { 'Idempotency-Key': 'optional; makes retries of this request safe' },
    responds: { status: 202, description: 'the queued Message; poll GET /messages/:id for its status' },
    handle: async ({ runtime, user, params, body, req }) =>
      announceQueued(
        runtime,
        user,
        await queueTemplateMessage(
          { db: runtime.database.db, adapters: runtime.adapters },
          { conversationId: params.id!, authorId: user.id, idempotencyKey: req.get('idempotency-key'), input: body },
        ),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/messages/:id',
    access: 'message',
    summary: 'Get a message with its delivery status and error code',
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: 'the Message' },
    handle: async ({ runtime, user, params }) => presentMessage(await getMessage(runtime.database.db, params.id!), messageViewer(runtime, user)),
  }),
  defineRoute({
    method: 'post',
    path: '/messages/:id/reveal',
    access: 'message',
    summary:
      "A masked message's original text, for the roles MASK_REVEAL_ROLES allows (default admin, supervisor); every reveal is in the audit log (message.reveal)",
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: '{ id, text }' },
    fails: { 403: 'the role may not reveal' },
    handle: async ({ runtime, user, params }) => {
      if (!mayReveal(messageViewer(runtime, user))) throw new HubError(403, 'forbidden', `role ${user.role} may not reveal masked values`);
      const message = await getMessage(runtime.database.db, params.id!);
      await recordAudit(runtime.database.db, {
        actorUserId: user.id,
        action: 'message.reveal',
        targetType: 'message',
        targetId: message.id,
        details: { conversationId: message.conversationId },
      });
      return { id: message.id, text: message.text };
    },
  }),
];

const attachmentRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/attachments/:id',
    access: 'attachment',
    summary: 'Download a file a message carries',
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: 'the file, as a download' },
    handle: async ({ runtime, params }) => {
      const file = await readAttachment(runtime.database.db, params.id!);
      return new FileReply(file.data, file.contentType, file.fileName);
    },
  }),
];

const inboundEventQuery = pageQuery.extend({ status: z.enum(inboundEventStatuses).default('dead') });

const operationsRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/inbound-events',
    summary: 'List inbound events by status (default: dead-lettered ones, with their error)',
    tag: 'operations',
    roles: ['admin'],
    query: inboundEventQuery,
    responds: { status: 200, description: '{ items: InboundEvent[] }' },
    handle: async ({ runtime, query }) => ({
      items: await runtime.database.db
        .select({
          id: inboundEvents.id,
          channelId: inboundEvents.channelId,
          dedupeKey: inboundEvents.dedupeKey,
          status: inboundEvents.status,
          attempts: inboundEvents.attempts,
          error: inboundEvents.error,
          receivedAt: inboundEvents.receivedAt,
          processedAt: inboundEvents.processedAt,
        })
        .from(inboundEvents)
        .where(and(eq(inboundEvents.status, query.status)))
        .orderBy(desc(inboundEvents.receivedAt))
        .limit(query.limit),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/inbound-events/:id/retry',
    access: { none: 'admins only; admins see everything' },
    summary: 'Put a dead-lettered inbound event back in line for processing',
    tag: 'operations',
    roles: ['admin'],
    responds: { status: 202, description: '{ requeued: boolean }' },
    handle: async ({ runtime, params }) => {
      const ids = await requeueDeadInboundEvents(runtime.database.db, [params.id!]);
      await enqueueOrLeaveToSweeper(runtime, () => runtime.queues.enqueueInbound(ids));
      return { requeued: ids.length > 0 };
    },
  }),
];

export const apiRoutes: ApiRoute[] = [
  ...channelRoutes,
  ...channelTypeRoutes,
  ...contactRoutes,
  ...conversationRoutes,
  ...consoleRoutes,
  ...attachmentRoutes,
  ...operationsRoutes,
  ...botRoutes,
  ...identityRoutes,
  ...routingRoutes,
  ...authRoutes,
  ...userRoutes,
  ...apiTokenRoutes,
  ...slaRoutes,
  ...auditRoutes,
  ...campaignApiRoutes,
];
