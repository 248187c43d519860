import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { conversationTransfers } from '../../core/db/schema.js';
import { agentProfileInput, createTeam, createTeamInput, getAgent, getOwnAgentProfile, listAgents, listTeams, presenceInput, renameTeam, upsertAgentProfile } from '../../core/routing/agent-profiles.js';
import type { RoutingOutcome } from '../../core/routing/assign-conversations.js';
import { listAssignmentHistory } from '../../core/routing/assignment-history.js';
import { queuePositions } from '../../core/routing/queue-notices.js';
import {
  reopenConversation,
  resolveConversation,
  setPresence,
  transferConversation,
  transferInput,
} from '../../core/routing/routing-actions.js';
import { createRule, createRuleInput, deleteRule, listRules, updateRule, updateRuleInput } from '../../core/routing/routing-rules.js';
import { getRoutingSettings, updateRoutingSettings, updateRoutingSettingsInput } from '../../core/routing/routing-settings.js';
import { getConversation } from '../../core/conversations/conversation-queries.js';
import { publishRoutingOutcome } from '../../workflows/routing.handler.js';
import { issueSocketTicket } from '../agent-socket.js';
import { enqueueOrLeaveToSweeper } from '../enqueue.js';
import { routingPublisherDeps, type Runtime } from '../runtime.js';
import { defineRoute, staffRoles, type ApiRoute } from './route.js';

const routingDeps = (runtime: Runtime) => ({ db: runtime.database.db, adapters: runtime.adapters });

/** The change is committed: a lost announcement only delays consoles until the sweeper runs. */
const announce = (runtime: Runtime, outcome: RoutingOutcome) =>
  enqueueOrLeaveToSweeper(runtime, () => publishRoutingOutcome(routingPublisherDeps(runtime), outcome));

const managers = ['admin', 'supervisor'] as const;

const teamAndAgentRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/teams',
    summary: 'List teams',
    tag: 'routing',
    roles: staffRoles,
    responds: { status: 200, description: '{ items: Team[] }' },
    handle: async ({ runtime }) => ({ items: await listTeams(runtime.database.db) }),
  }),
  defineRoute({
    method: 'post',
    path: '/teams',
    summary: 'Create a team',
    tag: 'routing',
    roles: ['admin'],
    body: createTeamInput,
    responds: { status: 201, description: 'the Team' },
    handle: ({ runtime, user, body }) => createTeam(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'patch',
    path: '/teams/:id',
    access: { none: 'admins only; admins see everything' },
    summary: 'Rename a team',
    tag: 'routing',
    roles: ['admin'],
    body: createTeamInput,
    responds: { status: 200, description: 'the Team' },
    fails: { 404: 'no such team', 409: 'another team has that name' },
    handle: ({ runtime, user, params, body }) => renameTeam(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/agents',
    summary: 'List agent profiles with presence and current load',
    tag: 'routing',
    roles: managers,
    responds: { status: 200, description: '{ items: AgentProfile[] }' },
    handle: async ({ runtime }) => ({ items: await listAgents(runtime.database.db) }),
  }),
  defineRoute({
    method: 'get',
    path: '/agents/transfer-targets',
    summary: 'Colleagues an agent can hand a conversation to: every agent with name, presence, teams and load (no contact details)',
    tag: 'routing',
    roles: staffRoles,
    responds: { status: 200, description: '{ items: [{ userId, name, presence, teamIds, capacity, activeCount }] }' },
    handle: async ({ runtime }) => ({
      items: (await listAgents(runtime.database.db)).map(({ userId, name, presence, teamIds, capacity, activeCount }) => ({
        userId,
        name,
        presence,
        teamIds,
        capacity,
        activeCount,
      })),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/agents/me',
    summary: "The caller's own agent profile; one not set up for routing yet gets the defaults (offline, capacity 5, no teams)",
    tag: 'routing',
    roles: staffRoles,
    responds: { status: 200, description: 'the AgentProfile' },
    handle: ({ runtime, user }) => getOwnAgentProfile(runtime.database.db, user.id),
  }),
  defineRoute({
    method: 'put',
    path: '/agents/:id',
    access: { none: 'managers only; a staff profile, not customer data' },
    summary: "Create or update a user's agent profile: skills, languages, teams, capacity (overall and per channel type)",
    tag: 'routing',
    roles: managers,
    body: agentProfileInput,
    responds: { status: 200, description: 'the AgentProfile' },
    handle: async ({ runtime, user, params, body }) => {
      await upsertAgentProfile(runtime.database.db, user.id, params.id!, body);
      return getAgent(runtime.database.db, params.id!);
    },
  }),
  defineRoute({
    method: 'put',
    path: '/agents/me/presence',
    summary: 'Set your own presence: online takes waiting conversations, offline returns unanswered ones to the queue',
    tag: 'routing',
    roles: staffRoles,
    body: presenceInput,
    responds: { status: 200, description: 'the AgentProfile' },
    handle: async ({ runtime, user, body }) => {
      await announce(runtime, await setPresence(routingDeps(runtime), user, user.id, body));
      return getAgent(runtime.database.db, user.id);
    },
  }),
  defineRoute({
    method: 'put',
    path: '/agents/:id/presence',
    access: { none: 'managers only; a staff profile, not customer data' },
    summary: "Set an agent's presence (supervisors, e.g. for someone who left without signing off)",
    tag: 'routing',
    roles: managers,
    body: presenceInput,
    responds: { status: 200, description: 'the AgentProfile' },
    handle: async ({ runtime, user, params, body }) => {
      await announce(runtime, await setPresence(routingDeps(runtime), user, params.id!, body));
      return getAgent(runtime.database.db, params.id!);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/agents/me/socket-ticket',
    summary: 'A single-use ticket, valid 30 seconds, to open the live feed at /ws/agent?ticket=…',
    tag: 'routing',
    roles: staffRoles,
    responds: { status: 201, description: '{ ticket, expiresInSeconds, path }' },
    handle: ({ runtime, user }) => issueSocketTicket(runtime, user.id),
  }),
];

const ruleRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/routing/rules',
    summary: 'List routing rules in evaluation order',
    tag: 'routing',
    roles: managers,
    responds: { status: 200, description: '{ items: RoutingRule[] }' },
    handle: async ({ runtime }) => ({ items: await listRules(runtime.database.db) }),
  }),
  defineRoute({
    method: 'post',
    path: '/routing/rules',
    summary: 'Create a routing rule: conditions on channel, language, tier, attributes, keywords and time of day; actions set team, skills, priority, SLA policy',
    tag: 'routing',
    roles: ['admin'],
    body: createRuleInput,
    responds: { status: 201, description: 'the RoutingRule' },
    handle: ({ runtime, user, body }) => createRule(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'patch',
    path: '/routing/rules/:id',
    access: { none: 'admins only; admins see everything' },
    summary: 'Update a routing rule',
    tag: 'routing',
    roles: ['admin'],
    body: updateRuleInput,
    responds: { status: 200, description: 'the RoutingRule' },
    handle: ({ runtime, user, params, body }) => updateRule(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/routing/rules/:id',
    access: { none: 'admins only; admins see everything' },
    summary: 'Delete a routing rule',
    tag: 'routing',
    roles: ['admin'],
    responds: { status: 200, description: '{ deleted: true }' },
    handle: ({ runtime, user, params }) => deleteRule(runtime.database.db, user.id, params.id!),
  }),
  defineRoute({
    method: 'get',
    path: '/routing/settings',
    summary: 'Routing settings: strategy, VIP tiers, queue notice texts and throttling',
    tag: 'routing',
    roles: managers,
    responds: { status: 200, description: 'the RoutingSettings' },
    handle: ({ runtime }) => getRoutingSettings(runtime.database.db),
  }),
  defineRoute({
    method: 'patch',
    path: '/routing/settings',
    summary: 'Update routing settings; nested objects merge',
    tag: 'routing',
    roles: ['admin'],
    body: updateRoutingSettingsInput,
    responds: { status: 200, description: 'the RoutingSettings' },
    handle: ({ runtime, user, body }) => updateRoutingSettings(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/routing/queue',
    summary: 'The waiting queue: each conversation with its place in its team’s line',
    tag: 'routing',
    roles: staffRoles,
    query: z.object({ teamId: z.uuid().optional() }),
    responds: { status: 200, description: '{ items: [{ id, teamId, priority, queuedAt, requiredSkills, position }] }' },
    handle: async ({ runtime, query }) => ({
      items: (await queuePositions(runtime.database.db, { teamId: query.teamId })).map(({ id, teamId, priority, queuedAt, requiredSkills, position }) => ({
        id,
        teamId,
        priority,
        queuedAt,
        requiredSkills,
        position,
      })),
    }),
  }),
];

const conversationRoutingRoutes: ApiRoute[] = [
  defineRoute({
    method: 'post',
    path: '/conversations/:id/resolve',
    access: 'conversation',
    summary: "Resolve a conversation; the agent's freed capacity takes the next waiting conversation",
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: 'the Conversation' },
    handle: async ({ runtime, user, params }) => {
      await announce(runtime, await resolveConversation(routingDeps(runtime), user, params.id!));
      return getConversation(runtime.database.db, params.id!);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/conversations/:id/reopen',
    access: 'conversation',
    summary: 'Reopen a resolved conversation: back to its previous agent when they are online, else into the queue',
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: 'the Conversation' },
    handle: async ({ runtime, params }) => {
      await announce(runtime, await reopenConversation(routingDeps(runtime), params.id!));
      return getConversation(runtime.database.db, params.id!);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/conversations/:id/transfer',
    access: 'conversation',
    summary: 'Transfer to an agent (online or busy, with room) or to a team’s queue, with a note. Agents transfer their own and may take a waiting (unassigned) conversation for themselves; supervisors reassign any.',
    tag: 'conversations',
    roles: staffRoles,
    body: transferInput,
    responds: { status: 200, description: 'the Conversation' },
    handle: async ({ runtime, user, params, body }) => {
      await announce(runtime, await transferConversation(routingDeps(runtime), user, params.id!, body));
      return getConversation(runtime.database.db, params.id!);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/transfers',
    access: 'conversation',
    summary: "A conversation's transfers with their notes, oldest first",
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: '{ items: Transfer[] }' },
    handle: async ({ runtime, params }) => {
      await getConversation(runtime.database.db, params.id!);
      return {
        items: await runtime.database.db
          .select()
          .from(conversationTransfers)
          .where(eq(conversationTransfers.conversationId, params.id!))
          .orderBy(asc(conversationTransfers.createdAt)),
      };
    },
  }),
];

const assignmentHistoryRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/conversations/:id/assignments',
    access: 'conversation',
    summary:
      "A conversation's assignment history, oldest first: who had it, when, why it came to them, when and why it left them, with the transfers and their notes. Agents read it only for conversations they have had.",
    tag: 'conversations',
    roles: staffRoles,
    responds: {
      status: 200,
      description:
        '{ conversationId, items: [{ id, agentId, agentName, reason, note, actorUserId, actorName, assignedAt, endedAt, endReason }], transfers: [{ id, fromAgentId, fromAgentName, toAgentId, toAgentName, toTeamId, toTeamName, note, actorUserId, actorName, createdAt }] }',
    },
    fails: { 403: 'an agent who never had the conversation' },
    handle: ({ runtime, user, params }) => listAssignmentHistory(runtime.database.db, user, params.id!),
  }),
];

export const routingRoutes: ApiRoute[] = [...teamAndAgentRoutes, ...ruleRoutes, ...conversationRoutingRoutes, ...assignmentHistoryRoutes];
