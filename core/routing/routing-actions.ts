import { and, eq, gt, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import { queryRows, type Db } from '../db/client.js';
import { agentProfiles, contacts, conversationTransfers, conversations, messages, teams } from '../db/schema.js';
import { badRequest, conflict, HubError, notFound } from '../errors.js';
import type { AuthenticatedUser } from '../users/users.js';
import { parseInput } from '../validation.js';
import { presenceInput, primaryLanguage } from './agent-profiles.js';
import {
  agentsWithRoom,
  assignBestAgent,
  assignTo,
  countWaiting,
  emptyOutcome,
  mergeOutcome,
  onlineWithRoom,
  pullForAgent,
  queueStamp,
  releaseAssignment,
  routableColumns,
  routeConversation,
  stampQueued,
  type RoutingDeps,
  type RoutingOutcome,
} from './assign-conversations.js';
import { sendQueueNotices } from './queue-notices.js';
import { enabledRulesJson, evaluateRules, parseEnabledRules, sameTier } from './routing-rules.js';
import { getRoutingSettings, parseRoutingSettings, storedRoutingSettings } from './routing-settings.js';

type Actor = Pick<AuthenticatedUser, 'id' | 'role'>;

/**
 * Marks a conversation as handed over to people, never lowering a priority already raised: the
 * mark lets the routing sweeper find a handover whose event was lost. Returns the statement, so
 * the bot runs it with its own session's update as one.
 */
export function markHandedOver(db: Db, handover: { conversationId: string; priority: number }) {
  return db
    .update(conversations)
    .set({ handedOverAt: sql`now()`, priority: sql`greatest(${conversations.priority}, ${handover.priority})`, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, handover.conversationId), isNull(conversations.handedOverAt), isNull(conversations.routingStatus)))
    .returning({ id: conversations.id });
}

/** What a handover reads of the conversation, with its contact, first message, settings and rules. */
interface HandoverContext extends Record<string, unknown> {
  status: string;
  routingStatus: string | null;
  priority: number;
  teamId: string | null;
  contact: Pick<typeof contacts.$inferSelect, 'language' | 'tier' | 'attributes'> | null;
  channelType: string | null;
  firstMessage: string | null;
  settings: Record<string, unknown> | null;
  rules: { id: string; conditions: unknown; actions: unknown }[];
  anyoneHasRoom: boolean;
}

/**
 * Puts a handed-over conversation in line for people: the first matching routing rule sets its
 * team, required skills, priority and SLA policy; VIP tiers are raised to the VIP priority. It
 * goes to an agent at once when one fits, else waits and the customer is told their place.
 * Idempotent: a conversation already routed, or resolved, is left alone.
 */
export async function handOverConversation(
  deps: RoutingDeps,
  handover: { conversationId: string; priority?: number | undefined },
): Promise<RoutingOutcome> {
  const placed = await deps.db.transaction(async (tx) => {
    // One statement locks the conversation and reads everything the rules look at, and the rules
    // and settings themselves. Correlated subqueries (not joins) keep the reads right when the
    // lock had to wait for a concurrent update of the conversation. While nobody has room (a
    // queue building up), choosing an agent is skipped: an agent who gets room after this read
    // finds the conversation when pulling from the queue, as one who got it after the choice
    // would. Written as SQL: every handover runs it, and the query builder took longer to
    // assemble it than to run it.
    const [conversation] = await queryRows<HandoverContext>(
      tx,
      sql`select c.status, c.routing_status as "routingStatus", c.priority, c.team_id as "teamId",
          (select jsonb_build_object('language', k.language, 'tier', k.tier, 'attributes', k.attributes) from contacts k where k.id = c.contact_id) as contact,
          (select ch.type from channels ch where ch.id = c.last_channel_id) as "channelType",
          (select m.text from messages m where m.conversation_id = c.id and m.direction = 'inbound' order by m.seq limit 1) as "firstMessage",
          ${storedRoutingSettings} as settings, ${enabledRulesJson} as rules,
          exists (select 1 from agent_profiles where ${onlineWithRoom}) as "anyoneHasRoom"
        from conversations c where c.id = ${handover.conversationId} for update of c`,
    );
    if (!conversation || conversation.status === 'resolved' || conversation.routingStatus) return undefined;
    const settings = parseRoutingSettings(conversation.settings);
    const { contact, channelType } = conversation;
    const language = primaryLanguage(contact?.language);
    const tier = contact?.tier ?? null;
    const rule = evaluateRules(parseEnabledRules(conversation.rules), {
      channelType,
      language,
      tier,
      attributes: contact?.attributes ?? {},
      firstMessage: conversation.firstMessage,
      now: new Date(),
    });
    const vip = tier !== null && settings.vipTiers.some((vipTier) => sameTier(vipTier, tier));
    const priority = Math.max(conversation.priority, handover.priority ?? 0, rule?.actions.priority ?? 0, vip ? settings.vipPriority : 0);
    // The place in line is stamped last, so the queue's lock is held only until the commit:
    // here when nobody has room (a queue building up, the common case in a burst), else after
    // trying to assign.
    const [queued] = await tx
      .update(conversations)
      .set({
        routingStatus: 'queued',
        handedOverAt: sql`coalesce(${conversations.handedOverAt}, now())`,
        queuedAt: conversation.anyoneHasRoom ? undefined : sql`coalesce(${conversations.queuedAt}, ${queueStamp})`,
        priority,
        teamId: rule?.actions.teamId ?? conversation.teamId,
        requiredSkills: rule?.actions.requiredSkills ?? [],
        slaPolicy: rule?.actions.slaPolicy ?? null,
        routingRuleId: rule?.id ?? null,
        routingLanguage: language,
        routingChannelType: channelType,
        updatedAt: sql`now()`,
      })
      .where(eq(conversations.id, handover.conversationId))
      .returning(routableColumns);
    if (!conversation.anyoneHasRoom) return { settings, notices: [] };
    // Routed while still locked: nobody can take the conversation in between, so it needs no
    // second read and transaction of its own. Stamped even when assigned, so that a transfer to
    // a team later gives it back its place.
    const notices = await assignBestAgent(tx, queued!, settings.strategy);
    await stampQueued(tx, [handover.conversationId]);
    return { settings, notices };
  });
  if (!placed) return emptyOutcome();
  const outcome: RoutingOutcome = {
    notices: [{ type: 'queue.changed' }, { type: 'conversation.changed', conversationId: handover.conversationId }, ...placed.notices],
    events: [],
  };
  // Only a conversation left waiting is told its place.
  if (!placed.notices.length) outcome.events.push(...(await sendQueueNotices(deps, placed.settings, [handover.conversationId])));
  return outcome;
}

/** Routes conversations that just (re)joined the queue and tells those still waiting their place. */
async function placeQueued(deps: RoutingDeps, conversationIds: string[]): Promise<RoutingOutcome> {
  const settings = await getRoutingSettings(deps.db);
  const outcome: RoutingOutcome = {
    notices: [{ type: 'queue.changed' }, ...conversationIds.map((conversationId) => ({ type: 'conversation.changed' as const, conversationId }))],
    events: [],
  };
  for (const id of conversationIds) outcome.notices.push(...(await routeConversation(deps.db, id, settings)));
  outcome.events.push(...(await sendQueueNotices(deps, settings, conversationIds)));
  return outcome;
}

async function lockConversation(tx: Db, id: string) {
  const [conversation] = await tx.select(routableColumns).from(conversations).where(eq(conversations.id, id)).for('update');
  if (!conversation) throw notFound('conversation', id);
  return conversation;
}

function checkOwnership(actor: Actor, assigneeId: string | null, action: string): void {
  if (actor.role === 'agent' && assigneeId !== actor.id) {
    throw new HubError(403, 'forbidden', `agents may only ${action} conversations assigned to them`);
  }
}

/** Resolves a conversation; the agent's freed capacity takes the next waiting conversation. */
export async function resolveConversation(deps: RoutingDeps, actor: Actor, conversationId: string): Promise<RoutingOutcome> {
  const result = await deps.db.transaction(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    if (conversation.status === 'resolved') return undefined;
    checkOwnership(actor, conversation.assigneeId, 'resolve');
    const freed = await releaseAssignment(tx, conversation, 'resolved');
    await tx
      .update(conversations)
      .set({ status: 'resolved', resolvedAt: sql`now()`, routingStatus: null, updatedAt: sql`now()` })
      .where(eq(conversations.id, conversationId));
    return { freed, wasQueued: conversation.routingStatus === 'queued', agentId: conversation.assigneeId };
  });
  const outcome = emptyOutcome();
  if (!result) return outcome;
  outcome.events.push({ type: 'conversation.resolved', conversationId, agentId: result.agentId, resolvedBy: actor.id });
  outcome.notices.push({ type: 'conversation.changed', conversationId });
  if (result.freed) {
    outcome.notices.push({ type: 'conversation.unassigned', conversationId, agentId: result.freed, reason: 'resolved' });
    outcome.notices.push(...(await pullForAgent(deps.db, result.freed)));
  }
  if (result.wasQueued) outcome.notices.push({ type: 'queue.changed' });
  return outcome;
}

/**
 * Reopens a resolved conversation. It goes back to the agent who had it when they are online
 * with room, else into the queue like a new handover.
 */
export async function reopenConversation(deps: RoutingDeps, conversationId: string): Promise<RoutingOutcome> {
  const backTo = await deps.db.transaction(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    if (conversation.status !== 'resolved') throw conflict('only a resolved conversation can be reopened');
    await tx
      .update(conversations)
      .set({
        status: 'open',
        resolvedAt: null,
        routingStatus: 'queued',
        assigneeId: null,
        // A new place at the end of the line, stamped last (below).
        queuedAt: null,
        handedOverAt: sql`coalesce(${conversations.handedOverAt}, now())`,
        queueNoticePosition: null,
        queueNoticeAt: null,
        updatedAt: sql`now()`,
      })
      .where(eq(conversations.id, conversationId));
    const previous = conversation.assigneeId;
    const ok = previous ? await assignTo(tx, { ...conversation, routingStatus: 'queued' }, previous, { reason: 'reopen', presences: ['online'] }) : false;
    await stampQueued(tx, [conversationId]);
    return ok ? previous : null;
  });
  const reopened = { type: 'conversation.reopened' as const, conversationId };
  if (backTo) {
    return {
      notices: [
        { type: 'conversation.changed', conversationId },
        { type: 'conversation.assigned', conversationId, agentId: backTo, reason: 'reopen' },
      ],
      events: [reopened],
    };
  }
  const queued = await placeQueued(deps, [conversationId]);
  queued.events.push(reopened);
  return queued;
}

export const transferInput = z
  .object({
    agentId: z.uuid().optional(),
    teamId: z.uuid().optional(),
    note: z.string().trim().max(2000).optional(),
  })
  .refine((t) => t.agentId || t.teamId, 'name an agentId or a teamId to transfer to');

/**
 * Transfers a conversation to another agent (directly, if they are online or busy with room) or to
 * a team's queue, with a note for whoever takes it. Agents transfer their own conversations;
 * supervisors and admins reassign any.
 */
export async function transferConversation(deps: RoutingDeps, actor: Actor, conversationId: string, input: unknown): Promise<RoutingOutcome> {
  const transfer = parseInput(transferInput, input);
  const result = await deps.db.transaction(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    if (conversation.status === 'resolved') throw conflict('a resolved conversation cannot be transferred; reopen it first');
    // An agent may take a waiting conversation for themselves, as routing would have given it.
    const claim = conversation.assigneeId === null && transfer.agentId === actor.id;
    if (!claim) checkOwnership(actor, conversation.assigneeId, 'transfer');
    if (transfer.teamId) {
      const [team] = await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, transfer.teamId));
      if (!team) throw badRequest(`invalid request body: teamId: no team ${transfer.teamId}`);
    }
    if (transfer.agentId) {
      const [profile] = await tx.select({ id: agentProfiles.userId }).from(agentProfiles).where(eq(agentProfiles.userId, transfer.agentId));
      if (!profile) throw badRequest(`invalid request body: agentId: user ${transfer.agentId} has no agent profile`);
      if (transfer.agentId === conversation.assigneeId) throw conflict('the conversation is already assigned to that agent');
    }
    // Both agents' rows are taken in one order, so crossing transfers cannot deadlock.
    const agentIds = [conversation.assigneeId, transfer.agentId].filter((id): id is string => Boolean(id)).sort();
    if (agentIds.length) await tx.select({ id: agentProfiles.userId }).from(agentProfiles).where(inArray(agentProfiles.userId, agentIds)).orderBy(agentProfiles.userId).for('update');
    const from = await releaseAssignment(tx, conversation, 'transferred');
    const teamId = transfer.teamId ?? conversation.teamId;
    await tx
      .update(conversations)
      .set({ routingStatus: 'queued', assigneeId: null, teamId, updatedAt: sql`now()` })
      .where(eq(conversations.id, conversationId));
    // Taking a waiting conversation is an assignment from the queue, chosen by the agent instead of routing.
    const reason = claim ? 'queue' : actor.id === conversation.assigneeId ? 'transfer' : 'reassign';
    if (transfer.agentId) {
      const ok = await assignTo(tx, { ...conversation, teamId, routingStatus: 'queued' }, transfer.agentId, {
        reason,
        presences: ['online', 'busy'],
        note: transfer.note,
        actorUserId: actor.id,
      });
      if (!ok) throw conflict('that agent is away, offline or has no spare capacity');
    }
    await tx.insert(conversationTransfers).values({
      conversationId,
      fromAgentId: from,
      toAgentId: transfer.agentId ?? null,
      toTeamId: transfer.teamId ?? null,
      note: transfer.note ?? null,
      actorUserId: actor.id,
    });
    await recordAudit(tx, { actorUserId: actor.id, action: claim ? 'conversation.claim' : `conversation.${reason}`, targetType: 'conversation', targetId: conversationId, details: { from, ...transfer } });
    // It keeps its place in line; one that never had one gets it last, after the audit chain's lock.
    if (!conversation.queuedAt) await stampQueued(tx, [conversationId]);
    return { from, reason };
  });
  const outcome = emptyOutcome();
  outcome.notices.push({ type: 'conversation.changed', conversationId });
  if (result.from) outcome.notices.push({ type: 'conversation.unassigned', conversationId, agentId: result.from, reason: result.reason });
  if (transfer.agentId) {
    outcome.notices.push({ type: 'conversation.assigned', conversationId, agentId: transfer.agentId, reason: result.reason });
  } else {
    mergeOutcome(outcome, await placeQueued(deps, [conversationId]));
  }
  if (result.from) outcome.notices.push(...(await pullForAgent(deps.db, result.from)));
  return outcome;
}

/**
 * Changes an agent's presence. Coming online pulls waiting conversations; going offline puts the
 * conversations they have not answered yet back in line (keeping their place), for others to take.
 */
export async function setPresence(deps: RoutingDeps, actor: Actor, agentId: string, input: unknown): Promise<RoutingOutcome> {
  const { presence } = parseInput(presenceInput, input);
  const returned = await deps.db.transaction(async (tx) => {
    // Conversations are locked before the agent's row, in the order resolve and transfer take
    // them, so that those running at the same time cannot deadlock with this.
    const requeued = presence === 'offline' ? await requeueUnanswered(tx, agentId) : [];
    const [profile] = await tx
      .update(agentProfiles)
      .set({ presence, presenceChangedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(agentProfiles.userId, agentId))
      .returning({ userId: agentProfiles.userId });
    if (!profile) throw notFound('agent profile', agentId);
    if (actor.id !== agentId) {
      await recordAudit(tx, { actorUserId: actor.id, action: 'agent.presence', targetType: 'user', targetId: agentId, details: { presence } });
    }
    await stampQueued(tx, requeued);
    return requeued;
  });
  const outcome = emptyOutcome();
  for (const id of returned) outcome.notices.push({ type: 'conversation.unassigned', conversationId: id, agentId, reason: 'agent_offline' });
  if (presence === 'online') outcome.notices.push(...(await pullForAgent(deps.db, agentId)));
  if (returned.length) mergeOutcome(outcome, await placeQueued(deps, returned));
  return outcome;
}

/**
 * Puts an agent's conversations that no agent has answered since the assignment back in line,
 * keeping their place. Returns their ids; the caller stamps those that never had a place
 * (stampQueued) as the last thing its transaction does.
 */
async function requeueUnanswered(tx: Db, agentId: string): Promise<string[]> {
  const unanswered = await tx
    .select(routableColumns)
    .from(conversations)
    .where(
      and(
        eq(conversations.assigneeId, agentId),
        eq(conversations.routingStatus, 'assigned'),
        // An answer is an agent's outbound message: a staff note (internal) answers nobody.
        sql`not exists (select 1 from ${messages} where ${messages.conversationId} = ${conversations.id} and ${messages.direction} = 'outbound' and ${messages.authorKind} = 'agent' and ${messages.createdAt} >= ${conversations.assignedAt})`,
      ),
    )
    .orderBy(conversations.id)
    .for('update');
  for (const conversation of unanswered) {
    await releaseAssignment(tx, conversation, 'agent_offline');
    await tx
      .update(conversations)
      .set({ routingStatus: 'queued', assigneeId: null, queueNoticePosition: null, updatedAt: sql`now()` })
      .where(eq(conversations.id, conversation.id));
  }
  return unanswered.map((c) => c.id);
}

/**
 * Repairs what lost jobs or races left behind: handovers that never reached the queue, unanswered
 * conversations still held by offline agents, agents with room while conversations they could
 * take wait, and queue notices that are due.
 */
export async function sweepRouting(deps: RoutingDeps, graceMs: number): Promise<RoutingOutcome> {
  const outcome = emptyOutcome();
  const stranded = await deps.db
    .select({ id: conversations.id })
    .from(conversations)
    .where(
      and(
        isNull(conversations.routingStatus),
        ne(conversations.status, 'resolved'),
        lt(conversations.handedOverAt, sql`now() - make_interval(secs => ${graceMs / 1000})`),
      ),
    )
    .limit(500);
  for (const { id } of stranded) mergeOutcome(outcome, await handOverConversation(deps, { conversationId: id }));
  // An assignment committed in the instant its agent went offline was not among those returned.
  const offlineWithWork = await deps.db
    .select({ userId: agentProfiles.userId })
    .from(agentProfiles)
    .where(and(eq(agentProfiles.presence, 'offline'), gt(agentProfiles.activeCount, 0)));
  for (const { userId } of offlineWithWork) {
    const returned = await deps.db.transaction(async (tx) => {
      const requeued = await requeueUnanswered(tx, userId);
      await stampQueued(tx, requeued);
      return requeued;
    });
    for (const id of returned) outcome.notices.push({ type: 'conversation.unassigned', conversationId: id, agentId: userId, reason: 'agent_offline' });
    if (returned.length) mergeOutcome(outcome, await placeQueued(deps, returned));
  }
  if ((await countWaiting(deps.db)) > 0) {
    for (const agentId of await agentsWithRoom(deps.db)) outcome.notices.push(...(await pullForAgent(deps.db, agentId)));
  }
  outcome.events.push(...(await sendQueueNotices(deps, await getRoutingSettings(deps.db))));
  return outcome;
}
