import { and, asc, desc, eq, inArray, isNull, lt, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { AdapterRegistry } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { agentProfiles, conversationAssignments, conversations, messages, type AgentPresence } from '../db/schema.js';
import type { DomainEvent } from '../events.js';
import type { RoutingSettings } from './routing-settings.js';

export interface RoutingDeps {
  db: Db;
  adapters: AdapterRegistry;
}

/** What agents' consoles hear about routing, live. */
export type RoutingNotice =
  | {
      type: 'conversation.assigned';
      conversationId: string;
      agentId: string;
      reason: string;
      /** Added when the notice is announced (announceAssignments): what the customer last wrote. */
      messages?: AssignedMessage[];
      /** Whether the customer wrote earlier messages than those in `messages`. */
      olderMessages?: boolean;
    }
  | { type: 'conversation.unassigned'; conversationId: string; agentId: string; reason: string }
  | { type: 'queue.changed' }
  /**
   * The conversation's state (status, routing status, assignee, team) changed: consoles refresh
   * its row. Published as it is; the agent socket reads the state for the consoles that listen.
   */
  | { type: 'conversation.changed'; conversationId: string };

/**
 * What a routing use case did that others must hear about after its commit: notices for the
 * consoles and domain events (queue-position messages to deliver).
 */
export interface RoutingOutcome {
  notices: RoutingNotice[];
  events: DomainEvent[];
}

export const emptyOutcome = (): RoutingOutcome => ({ notices: [], events: [] });

export function mergeOutcome(into: RoutingOutcome, from: RoutingOutcome): RoutingOutcome {
  into.notices.push(...from.notices);
  into.events.push(...from.events);
  return into;
}

/** The columns routing needs to place a conversation. */
export const routableColumns = {
  id: conversations.id,
  status: conversations.status,
  routingStatus: conversations.routingStatus,
  assigneeId: conversations.assigneeId,
  teamId: conversations.teamId,
  requiredSkills: conversations.requiredSkills,
  routingLanguage: conversations.routingLanguage,
  routingChannelType: conversations.routingChannelType,
  priority: conversations.priority,
  queuedAt: conversations.queuedAt,
};
export type Routable = Pick<typeof conversations.$inferSelect, keyof typeof routableColumns>;

/** An agent has room for one more conversation, overall and on the conversation's channel type. */
function hasRoomFor(channelType: string | null): SQL {
  const overall = sql`${agentProfiles.activeCount} < ${agentProfiles.capacity}`;
  if (!channelType) return overall;
  return sql`${overall} and coalesce((${agentProfiles.channelCapacity} ->> ${channelType})::int, ${agentProfiles.capacity}) > coalesce((${agentProfiles.channelLoad} ->> ${channelType})::int, 0)`;
}

function adjustedLoad(channelType: string | null, delta: 1 | -1): SQL {
  if (!channelType) return sql`${agentProfiles.channelLoad}`;
  return sql`jsonb_set(${agentProfiles.channelLoad}, array[${channelType}::text], to_jsonb(greatest(coalesce((${agentProfiles.channelLoad} ->> ${channelType})::int, 0) + ${delta}, 0)))`;
}

/**
 * A place in line for a conversation joining the queue: the database function locks the single
 * `queue_clock` row until the transaction ends and returns a time later than every stamp before
 * it (migrations/0016). So `queued_at` follows the order in which joins commit, whichever process
 * runs them, and a customer told their place after their join committed is never overtaken by a
 * join that committed later. Lazy inside coalesce: a conversation that keeps its place takes no
 * lock. Because the lock is held until commit, it must be the last lock a transaction takes:
 * stamp after the conversation's, the agents' and the audit chain's rows are locked.
 */
export const queueStamp = sql`hub_queue_stamp()`;

/** Stamps the conversations of `ids` that have no place in line yet (see `queueStamp`). */
export async function stampQueued(tx: Db, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await tx
    .update(conversations)
    .set({ queuedAt: queueStamp })
    .where(and(inArray(conversations.id, ids), isNull(conversations.queuedAt)));
}

/** Thrown inside a transaction to undo it when another router took the conversation first. */
class TakenConcurrently extends Error {}

/**
 * Picks the agent for a queued conversation among online agents with the skills, language, team
 * and spare capacity, and locks them; agents another router holds are skipped, not waited for.
 */
async function pickAgent(tx: Db, conversation: Routable, strategy: RoutingSettings['strategy']) {
  const order =
    strategy === 'round_robin'
      ? [sql`${agentProfiles.lastAssignedAt} asc nulls first`, asc(agentProfiles.userId)]
      : [
          sql`${agentProfiles.activeCount}::float / ${agentProfiles.capacity} asc`,
          sql`${agentProfiles.lastAssignedAt} asc nulls first`,
          asc(agentProfiles.userId),
        ];
  const [agent] = await tx
    .select({ userId: agentProfiles.userId })
    .from(agentProfiles)
    .where(
      and(
        eq(agentProfiles.presence, 'online'),
        hasRoomFor(conversation.routingChannelType),
        sql`${agentProfiles.skills} @> ${sql.param(conversation.requiredSkills)}::text[]`,
        conversation.routingLanguage ? sql`${conversation.routingLanguage} = any(${agentProfiles.languages})` : undefined,
        conversation.teamId ? sql`${conversation.teamId}::uuid = any(${agentProfiles.teamIds})` : undefined,
      ),
    )
    .orderBy(...order)
    .limit(1)
    .for('update', { skipLocked: true });
  return agent;
}

export interface AssignMeta {
  reason: 'queue' | 'reopen' | 'transfer' | 'reassign';
  /** Presences the agent may be in: routing only gives work to online agents, a person may hand it to a busy one. */
  presences: readonly AgentPresence[];
  note?: string | undefined;
  actorUserId?: string | undefined;
}

/**
 * Assigns a queued conversation to an agent in two conditional updates: the agent's load goes up
 * only while under capacity, and the conversation moves only while still queued. Returns false
 * when the agent has no room; throws TakenConcurrently (undoing the transaction) when the
 * conversation was taken meanwhile.
 */
export async function assignTo(tx: Db, conversation: Routable, agentId: string, meta: AssignMeta): Promise<boolean> {
  const [agent] = await tx
    .update(agentProfiles)
    .set({
      activeCount: sql`${agentProfiles.activeCount} + 1`,
      channelLoad: adjustedLoad(conversation.routingChannelType, 1),
      lastAssignedAt: sql`clock_timestamp()`,
    })
    .where(and(eq(agentProfiles.userId, agentId), inArray(agentProfiles.presence, [...meta.presences]), hasRoomFor(conversation.routingChannelType)))
    .returning({ userId: agentProfiles.userId });
  if (!agent) return false;
  const [moved] = await tx
    .update(conversations)
    .set({ assigneeId: agentId, routingStatus: 'assigned', assignedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, conversation.id), eq(conversations.routingStatus, 'queued')))
    .returning({ id: conversations.id });
  if (!moved) throw new TakenConcurrently();
  await tx.insert(conversationAssignments).values({
    conversationId: conversation.id,
    agentId,
    reason: meta.reason,
    note: meta.note ?? null,
    actorUserId: meta.actorUserId ?? null,
  });
  return true;
}

/**
 * Ends a conversation's current assignment and gives the agent's capacity back. The caller holds
 * the conversation's row lock and sets its new state. Returns the agent it was assigned to.
 */
export async function releaseAssignment(tx: Db, conversation: Routable, endReason: string): Promise<string | null> {
  if (conversation.routingStatus !== 'assigned' || !conversation.assigneeId) return null;
  await tx
    .update(agentProfiles)
    .set({
      activeCount: sql`greatest(${agentProfiles.activeCount} - 1, 0)`,
      channelLoad: adjustedLoad(conversation.routingChannelType, -1),
    })
    .where(eq(agentProfiles.userId, conversation.assigneeId));
  await tx
    .update(conversationAssignments)
    .set({ endedAt: sql`now()`, endReason })
    .where(and(eq(conversationAssignments.conversationId, conversation.id), isNull(conversationAssignments.endedAt)));
  return conversation.assigneeId;
}

const assigned = (conversationId: string, agentId: string, reason: string): RoutingNotice => ({
  type: 'conversation.assigned',
  conversationId,
  agentId,
  reason,
});

/** Gives a queued conversation to the best available agent, if any. */
export async function routeConversation(db: Db, conversationId: string, settings: RoutingSettings): Promise<RoutingNotice[]> {
  try {
    return await db.transaction(async (tx) => {
      const [conversation] = await tx
        .select(routableColumns)
        .from(conversations)
        .where(and(eq(conversations.id, conversationId), eq(conversations.routingStatus, 'queued')));
      if (!conversation) return [];
      return assignBestAgent(tx, conversation, settings.strategy);
    });
  } catch (error) {
    if (error instanceof TakenConcurrently) return [];
    throw error;
  }
}

/**
 * Gives a queued conversation, read in the caller's transaction, to the best available agent, if
 * any. Throws TakenConcurrently when another router took it first.
 */
export async function assignBestAgent(tx: Db, conversation: Routable, strategy: RoutingSettings['strategy']): Promise<RoutingNotice[]> {
  const agent = await pickAgent(tx, conversation, strategy);
  if (!agent) return [];
  await assignTo(tx, conversation, agent.userId, { reason: 'queue', presences: ['online'] });
  return [assigned(conversation.id, agent.userId, 'queue'), { type: 'queue.changed' }];
}

/**
 * Fills an agent's spare capacity from the waiting queue: highest priority first, then longest
 * waiting, among the conversations the agent can serve. Conversations other routers hold are
 * skipped. One transaction per assignment keeps locks short.
 */
export async function pullForAgent(db: Db, agentId: string): Promise<RoutingNotice[]> {
  const notices: RoutingNotice[] = [];
  for (;;) {
    const taken = await db.transaction(async (tx) => {
      const [agent] = await tx.select().from(agentProfiles).where(eq(agentProfiles.userId, agentId)).for('update');
      if (!agent || agent.presence !== 'online' || agent.activeCount >= agent.capacity) return undefined;
      const fullTypes = Object.entries(agent.channelCapacity)
        .filter(([type, cap]) => (agent.channelLoad[type] ?? 0) >= cap)
        .map(([type]) => type);
      const [next] = await tx
        .select(routableColumns)
        .from(conversations)
        .where(
          and(
            eq(conversations.routingStatus, 'queued'),
            sql`${conversations.requiredSkills} <@ ${sql.param(agent.skills)}::text[]`,
            or(isNull(conversations.routingLanguage), sql`${conversations.routingLanguage} = any(${sql.param(agent.languages)}::text[])`),
            or(isNull(conversations.teamId), sql`${conversations.teamId} = any(${sql.param(agent.teamIds)}::uuid[])`),
            fullTypes.length ? or(isNull(conversations.routingChannelType), notInArray(conversations.routingChannelType, fullTypes)) : undefined,
          ),
        )
        .orderBy(desc(conversations.priority), asc(conversations.queuedAt), asc(conversations.id))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!next) return undefined;
      if (!(await assignTo(tx, next, agentId, { reason: 'queue', presences: ['online'] }))) return undefined;
      return { id: next.id, full: agent.activeCount + 1 >= agent.capacity };
    });
    if (!taken) break;
    notices.push(assigned(taken.id, agentId, 'queue'));
    if (taken.full) break;
  }
  if (notices.length) notices.push({ type: 'queue.changed' });
  return notices;
}

/** An agent routing may give one more conversation to, on some channel. */
export const onlineWithRoom = and(eq(agentProfiles.presence, 'online'), lt(agentProfiles.activeCount, agentProfiles.capacity))!;

/** Online agents with spare capacity, least loaded first: the sweeper offers them the queue. */
export async function agentsWithRoom(db: Db): Promise<string[]> {
  const rows = await db
    .select({ userId: agentProfiles.userId })
    .from(agentProfiles)
    .where(onlineWithRoom)
    .orderBy(sql`${agentProfiles.activeCount}::float / ${agentProfiles.capacity}`);
  return rows.map((r) => r.userId);
}

export async function countWaiting(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(conversations).where(eq(conversations.routingStatus, 'queued'));
  return row!.n;
}

/** How many of the customer's latest messages an assignment notice carries. */
export const assignedMessageLimit = 10;

const assignedMessageColumns = {
  id: messages.id,
  conversationId: messages.conversationId,
  channelId: messages.channelId,
  direction: messages.direction,
  authorKind: messages.authorKind,
  contentKind: messages.contentKind,
  text: messages.text,
  payload: messages.payload,
  createdAt: messages.createdAt,
};
export type AssignedMessage = Pick<typeof messages.$inferSelect, keyof typeof assignedMessageColumns>;

/**
 * Gives each assignment notice the customer's latest messages in the conversation (up to
 * `assignedMessageLimit`, oldest first), so the agent's console shows what the customer wants the
 * moment the conversation arrives instead of fetching after every assignment. Read when the
 * notice is announced, after the assignment committed: the customer's messages stored since the
 * assignment reach the agent as `message.created` anyway.
 */
export async function announceAssignments(db: Db, notices: RoutingNotice[]): Promise<RoutingNotice[]> {
  return Promise.all(
    notices.map(async (notice) => {
      if (notice.type !== 'conversation.assigned') return notice;
      const latest = await db
        .select(assignedMessageColumns)
        .from(messages)
        .where(and(eq(messages.conversationId, notice.conversationId), eq(messages.direction, 'inbound'), eq(messages.authorKind, 'contact')))
        .orderBy(desc(messages.seq))
        .limit(assignedMessageLimit + 1);
      const announced: RoutingNotice = { ...notice, messages: latest.slice(0, assignedMessageLimit).reverse(), olderMessages: latest.length > assignedMessageLimit };
      return announced;
    }),
  );
}
