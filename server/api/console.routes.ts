import { addConversationNote, noteCreated, noteInput } from '../../core/conversations/conversation-notes.js';
import { getMessage } from '../../core/conversations/conversation-queries.js';
import { overviewQuery, readSupervisorOverview } from '../../core/reports/supervisor-overview.js';
import { enqueueOrLeaveToSweeper } from '../enqueue.js';
import { defineRoute, staffRoles, type ApiRoute } from './route.js';

/** What the agent and supervisor console needs beyond the areas' own routes. */
export const consoleRoutes: ApiRoute[] = [
  defineRoute({
    method: 'post',
    path: '/conversations/:id/notes',
    access: 'conversation',
    summary:
      'Add a private note to a conversation: listed with its messages for staff as direction `internal`, never sent or shown to the customer, and not an agent reply. Repeating a request with the same Idempotency-Key returns the first note.',
    tag: 'conversations',
    roles: staffRoles,
    body: noteInput,
    headers: { 'Idempotency-Key': 'optional; makes retries of this request safe' },
    responds: { status: 201, description: 'the note, as a Message with direction `internal`' },
    handle: async ({ runtime, user, params, body, req }) => {
      const { message, created } = await addConversationNote(runtime.database.db, {
        conversationId: params.id!,
        authorId: user.id,
        idempotencyKey: req.get('idempotency-key'),
        input: body,
      });
      const view = await getMessage(runtime.database.db, message.id);
      // Only a live hint for other consoles: a lost one is caught up by the next list read.
      if (created) await enqueueOrLeaveToSweeper(runtime, () => runtime.events.publish([noteCreated(message)]));
      return view;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/supervisor/overview',
    summary:
      "The supervisor's overview: the waiting queue (overall and per team line, `teamId` null is the common line), every agent's presence and load, and today's traffic per channel since midnight in `timeZone` (the hub server's time zone when left out)",
    tag: 'reports',
    roles: ['admin', 'supervisor'],
    query: overviewQuery,
    responds: {
      status: 200,
      description:
        '{ queue: { waiting, longestWaitSeconds, byTeam: [{ teamId, name, waiting, longestWaitSeconds }] }, agents: [{ userId, name, role, presence, presenceChangedAt, activeConversations, capacity, teams: [{ id, name }] }], today: { timeZone, since, opened, resolved, byChannel: [{ channelId, name, type, inbound, outbound, conversationsOpened }] } }',
    },
    handle: ({ runtime, query }) => readSupervisorOverview(runtime.database.db, { timeZone: query.timeZone }),
  }),
];
