import { asc, eq } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { conversationAssignments, conversations, conversationTransfers, teams, users } from '../db/schema.js';
import { notFound } from '../errors.js';
import type { AuthenticatedUser } from '../users/users.js';

const agent = alias(users, 'agent');
const actor = alias(users, 'actor');
const fromAgent = alias(users, 'from_agent');
const toAgent = alias(users, 'to_agent');

/**
 * Who had a conversation, when, why it came to them and when and why it left them, with the
 * transfers and their notes, oldest first. Who may read it is the need-to-know rule of the
 * conversation (core/access), checked by the route.
 */
export async function listAssignmentHistory(db: Db, caller: Pick<AuthenticatedUser, 'id' | 'role'>, conversationId: string) {
  const [conversation] = await db.select({ id: conversations.id }).from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) throw notFound('conversation', conversationId);
  const assignments = await db
    .select({
      id: conversationAssignments.id,
      agentId: conversationAssignments.agentId,
      agentName: agent.name,
      reason: conversationAssignments.reason,
      note: conversationAssignments.note,
      actorUserId: conversationAssignments.actorUserId,
      actorName: actor.name,
      assignedAt: conversationAssignments.assignedAt,
      endedAt: conversationAssignments.endedAt,
      endReason: conversationAssignments.endReason,
    })
    .from(conversationAssignments)
    .innerJoin(agent, eq(agent.id, conversationAssignments.agentId))
    .leftJoin(actor, eq(actor.id, conversationAssignments.actorUserId))
    .where(eq(conversationAssignments.conversationId, conversationId))
    .orderBy(asc(conversationAssignments.assignedAt), asc(conversationAssignments.id));
  const transfers = await db
    .select({
      id: conversationTransfers.id,
      fromAgentId: conversationTransfers.fromAgentId,
      fromAgentName: fromAgent.name,
      toAgentId: conversationTransfers.toAgentId,
      toAgentName: toAgent.name,
      toTeamId: conversationTransfers.toTeamId,
      toTeamName: teams.name,
      note: conversationTransfers.note,
      actorUserId: conversationTransfers.actorUserId,
      actorName: actor.name,
      createdAt: conversationTransfers.createdAt,
    })
    .from(conversationTransfers)
    .leftJoin(fromAgent, eq(fromAgent.id, conversationTransfers.fromAgentId))
    .leftJoin(toAgent, eq(toAgent.id, conversationTransfers.toAgentId))
    .leftJoin(teams, eq(teams.id, conversationTransfers.toTeamId))
    .innerJoin(actor, eq(actor.id, conversationTransfers.actorUserId))
    .where(eq(conversationTransfers.conversationId, conversationId))
    .orderBy(asc(conversationTransfers.createdAt), asc(conversationTransfers.id));
  return { conversationId, items: assignments, transfers };
}
