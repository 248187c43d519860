import { listContactDevices } from '../../core/app-users/devices.js';
import { visibleConversationIds } from '../../core/access/conversation-access.js';
import { presentMessage } from '../../core/security/message-view.js';
import { messageViewer } from './message-masking.js';
import { getMerge, listMerges, mergeContactsManually, mergeInput, mergeListQuery, undoMerge, type ContactMerge } from '../../core/contacts/contact-merge.js';
import {
  addIdentities,
  contactAttributesInput,
  identityInput,
  listDuplicates,
  listTimeline,
  timelineQuery,
  updateContact,
  upsertContact,
  upsertContactInput,
} from '../../core/contacts/contact-service.js';
import { loadMergeRules, mergeRuleInput, updateMergeRule } from '../../core/contacts/merge-rules.js';
import type { DomainEvent } from '../../core/events.js';
import { listReplyOptions } from '../../core/messages/reply-options.js';
import { z } from 'zod';
import { enqueueOrLeaveToSweeper } from '../enqueue.js';
import type { Runtime } from '../runtime.js';
import { allRoles, defineRoute, pageQuery, staffRoles, type ApiRoute } from './route.js';

const publishMerges = (runtime: Runtime, type: 'contact.merged' | 'contact.merge_undone', merges: ContactMerge[]) =>
  enqueueOrLeaveToSweeper(runtime, () =>
    runtime.events.publish(merges.map((m): DomainEvent => ({ type, mergeId: m.id, survivorId: m.survivorId, mergedId: m.mergedId }))),
  );

/** Contacts as the bank's systems push them, merges with their audit trail and undo, and the rules. */
export const identityRoutes: ApiRoute[] = [
  defineRoute({
    method: 'post',
    path: '/contacts',
    summary:
      'Create or update the contact carrying any of the given identities, with its attributes. Verified identities found on another contact merge it under the merge rules; unverified ones become merge suggestions.',
    tag: 'contacts',
    roles: ['admin', 'supervisor'],
    body: upsertContactInput,
    responds: { status: 200, description: '{ created, contact, merges: mergeId[], suggestions[] }' },
    handle: ({ runtime, user, body }) => upsertContact({ db: runtime.database.db }, user.id, body),
  }),
  defineRoute({
    method: 'patch',
    path: '/contacts/:id',
    access: 'contact',
    summary: 'Update name, language, timezone, tier, birthday, tags or custom attributes (a key set to null is removed)',
    tag: 'contacts',
    roles: staffRoles,
    body: contactAttributesInput,
    responds: { status: 200, description: 'the Contact with identities[]' },
    handle: ({ runtime, user, params, body }) => updateContact({ db: runtime.database.db }, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'post',
    path: '/contacts/:id/identities',
    access: 'contact',
    summary: 'Add identities to a contact; one that another contact carries merges (verified, allowed by the rules) or is suggested',
    tag: 'contacts',
    roles: ['admin', 'supervisor'],
    body: z.object({ identities: z.array(identityInput).min(1).max(20) }),
    responds: { status: 200, description: '{ contact, merges: mergeId[], suggestions[] }' },
    handle: ({ runtime, user, params, body }) => addIdentities({ db: runtime.database.db }, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/contacts/:id/duplicates',
    access: 'contact',
    summary: 'Merge suggestions: contacts an unverified or rule-blocked identity links to this one, with the reason',
    tag: 'contacts',
    roles: staffRoles,
    responds: { status: 200, description: '{ contactId, items: [{ contactId, kind, value, reason, suggestedAt }] }' },
    handle: ({ runtime, params }) => listDuplicates(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'get',
    path: '/contacts/:id/timeline',
    access: 'contact',
    summary:
      'Everything that happened to the contact across channels and conversations, oldest first, or newest first with `order=desc` (the cursor then leads to older entries): messages, merges and undos. ' +
      'A message carries its channel and its conversation (start, status, first channel), so a reader can tell the conversations apart',
    tag: 'contacts',
    roles: staffRoles,
    query: pageQuery.extend(timelineQuery.shape),
    responds: {
      status: 200,
      description:
        '{ contactId, items: [{ type: message | contact.merged | contact.merge_undone, at, … }], nextCursor }; a message also has the Message fields, channel: { type, name } and conversation: { status, createdAt, channelId, channelType, channelName }',
    },
    handle: async ({ runtime, user, params, query }) => {
      const timeline = await listTimeline(runtime.database.db, params.id!, query);
      // A contact's timeline spans conversations: an agent sees the messages of those they may see.
      const visible =
        user.role === 'admin'
          ? undefined
          : await visibleConversationIds(runtime.database.db, user, [
              ...new Set(timeline.items.flatMap((entry) => (entry.type === 'message' ? [entry.conversationId] : []))),
            ]);
      const viewer = messageViewer(runtime, user);
      return {
        ...timeline,
        items: timeline.items
          .filter((entry) => entry.type !== 'message' || !visible || visible.has(entry.conversationId))
          .map((entry) => (entry.type === 'message' ? presentMessage(entry, viewer) : entry)),
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/contacts/:id/devices',
    access: 'contact',
    summary:
      "The contact's mobile-app installs on every app channel, active first: platform, last seen, and for an inactive one why and when it stopped receiving pushes (kept for the audit trail; push tokens are never shown)",
    tag: 'contacts',
    roles: staffRoles,
    responds: {
      status: 200,
      description:
        '{ contactId, items: [{ id, channelId, channelName, appUserId, platform: fcm | apns, active, deactivatedReason, deactivatedAt, lastSeenAt, createdAt }] }',
    },
    handle: ({ runtime, params }) => listContactDevices(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'post',
    path: '/contacts/merge',
    summary: 'Merge two contacts: everything of mergedId moves to survivorId, which wins attribute conflicts; mergedId stays as a tombstone',
    tag: 'contacts',
    roles: ['admin', 'supervisor'],
    body: mergeInput,
    responds: { status: 201, description: 'the merge record, with exactly what moved' },
    handle: async ({ runtime, user, body }) => {
      const merge = await mergeContactsManually({ db: runtime.database.db }, user.id, body);
      await publishMerges(runtime, 'contact.merged', [merge]);
      return merge;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/contact-merges',
    summary: 'List merge records, newest first, optionally of one contact',
    tag: 'contacts',
    roles: staffRoles,
    query: mergeListQuery,
    responds: { status: 200, description: '{ items: ContactMerge[], nextCursor }' },
    handle: ({ runtime, query }) => listMerges(runtime.database.db, query),
  }),
  defineRoute({
    method: 'get',
    path: '/contact-merges/:id',
    access: { none: 'a merge record names contact ids and counts, no identity values or messages; undo is for managers' },
    summary: 'Get a merge record: rule or user, reason, what moved, and the undo if any',
    tag: 'contacts',
    roles: staffRoles,
    responds: { status: 200, description: 'the ContactMerge' },
    handle: ({ runtime, params }) => getMerge(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'post',
    path: '/contact-merges/:id/undo',
    access: { none: 'a merge record names contact ids and counts, no identity values or messages; undo is for managers' },
    summary:
      'Undo a merge: both contacts are restored, with the messages that arrived since on the merged contact’s identities. Refused (409) while later merges of either contact stand.',
    tag: 'contacts',
    roles: ['admin', 'supervisor'],
    responds: { status: 200, description: 'the ContactMerge, with undoneAt and what the undo moved' },
    handle: async ({ runtime, user, params }) => {
      const merge = await undoMerge({ db: runtime.database.db }, user.id, params.id!);
      await publishMerges(runtime, 'contact.merge_undone', [merge]);
      return merge;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/identity-merge-rules',
    summary: 'The automatic merge rules per identity kind: whether a shared verified identity merges, and whether several verified values are allowed',
    tag: 'contacts',
    roles: allRoles,
    responds: { status: 200, description: '{ items: MergeRule[] }' },
    handle: async ({ runtime }) => ({ items: Object.values(await loadMergeRules(runtime.database.db)) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/identity-merge-rules/:kind',
    access: { none: 'configuration, not customer data; admins only for changes' },
    summary: 'Change the automatic merge rule of one identity kind (audited)',
    tag: 'contacts',
    roles: ['admin'],
    body: mergeRuleInput,
    responds: { status: 200, description: 'the MergeRule' },
    handle: ({ runtime, user, params, body }) => updateMergeRule(runtime.database.db, user.id, params.kind!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/channels',
    access: 'conversation',
    summary:
      'The channels a reply in this conversation can go out on, with the identity each reaches; pass one as `channelId` when replying. ' +
      'A channel with a service window (WeChat) says whether a free-form reply goes out now and until when (`window`); one with template messages lists them with their variables (`templates`)',
    tag: 'conversations',
    roles: staffRoles,
    responds: {
      status: 200,
      description: '{ lastChannelId, seenChannelIds, items: [{ channelId, name, type, last, identity, window?: { open, closesAt }, templates?: [{ name, variables }] }] }',
    },
    handle: ({ runtime, params }) =>
      listReplyOptions({ db: runtime.database.db, adapters: runtime.adapters, loadChannel: (id) => runtime.channels.get(id) }, params.id!),
  }),
];
