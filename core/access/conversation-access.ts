import { and, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { agentProfiles, attachments, contacts, conversations, messages, type UserRole } from '../db/schema.js';
import { HubError, notFound } from '../errors.js';

/**
 * Need to know: which conversations (and through them which contacts, messages and files) a
 * user may see and act on. One rule, used by every route with an id, the conversation list's
 * filters and the agent socket:
 *
 * - admins: every conversation;
 * - supervisors: conversations of their teams (the conversation's team, or its assignee in one
 *   of their teams), the common line (no team) and ones they took part in; a supervisor in no
 *   team supervises the whole floor and sees every conversation (small banks run one team-less
 *   supervisor, and routing works without teams);
 * - agents: conversations assigned to them, waiting in one of their teams' lines or the common
 *   line, or that they took part in (an assignment, or a message they wrote);
 * - marketers: none (they see campaigns and aggregates).
 */
export interface Viewer {
  id: string;
  role: UserRole;
}

/** The caller with what the rule needs: their teams (from their routing profile). */
export interface AccessScope extends Viewer {
  teamIds: string[];
}

export async function loadAccessScope(db: Db, viewer: Viewer): Promise<AccessScope> {
  if (viewer.role === 'admin' || viewer.role === 'marketer') return { id: viewer.id, role: viewer.role, teamIds: [] };
  const [profile] = await db.select({ teamIds: agentProfiles.teamIds }).from(agentProfiles).where(eq(agentProfiles.userId, viewer.id));
  return { id: viewer.id, role: viewer.role, teamIds: profile?.teamIds ?? [] };
}

/** Whether the scope sees every conversation (no condition needed). */
export function seesEverything(scope: AccessScope): boolean {
  return scope.role === 'admin' || (scope.role === 'supervisor' && scope.teamIds.length === 0);
}

const uuidArray = (ids: string[]) => sql`array[${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)}]::uuid[]`;

/**
 * The rule as a condition on a conversations table (the list's own, or an alias given by its
 * columns), or undefined when the scope sees everything.
 */
export function conversationAccessCondition(
  scope: AccessScope,
  t: { id: PgColumn; assigneeId: PgColumn; teamId: PgColumn; routingStatus: PgColumn },
): SQL | undefined {
  if (seesEverything(scope)) return undefined;
  if (scope.role === 'marketer') return sql`false`;
  const tookPart = sql`(exists (select 1 from conversation_assignments ca where ca.conversation_id = ${t.id} and ca.agent_id = ${scope.id})
    or exists (select 1 from messages m where m.conversation_id = ${t.id} and m.author_id = ${scope.id}))`;
  const ownLine = scope.teamIds.length ? or(isNull(t.teamId), sql`${t.teamId} = any(${uuidArray(scope.teamIds)})`)! : isNull(t.teamId);
  if (scope.role === 'agent') {
    return or(eq(t.assigneeId, scope.id), and(eq(t.routingStatus, 'queued'), ownLine), tookPart);
  }
  // Supervisor with teams.
  const assigneeInTeam = sql`exists (select 1 from agent_profiles ap where ap.user_id = ${t.assigneeId} and ap.team_ids && ${uuidArray(scope.teamIds)})`;
  return or(ownLine, assigneeInTeam, tookPart);
}

const forbidden = (what: string) => new HubError(403, 'forbidden', `you may not see or act on this ${what}`);

/** Throws 404 when the conversation does not exist, 403 when the caller may not see it. */
export async function assertConversationAccess(db: Db, viewer: Viewer, conversationId: string): Promise<void> {
  const [row] = await db.select({ id: conversations.id }).from(conversations).where(eq(conversations.id, conversationId));
  if (!row) throw notFound('conversation', conversationId);
  const scope = await loadAccessScope(db, viewer);
  const condition = conversationAccessCondition(scope, conversations);
  if (!condition) return;
  // In the where clause, where columns are always named with their table (a subquery's own
  // tables would otherwise capture them).
  const [allowed] = await db.select({ id: conversations.id }).from(conversations).where(and(eq(conversations.id, conversationId), condition));
  if (!allowed) throw forbidden('conversation');
}

/**
 * Contacts: admins and supervisors (contacts are the bank's customers, shared by every team;
 * supervisors merge and correct them) and marketers (who read them masked, see contact-view)
 * see all; an agent only the contacts of conversations they may see.
 */
export async function assertContactAccess(db: Db, viewer: Viewer, contactId: string): Promise<void> {
  if (viewer.role !== 'agent') {
    const [row] = await db.select({ id: contacts.id }).from(contacts).where(eq(contacts.id, contactId));
    if (!row) throw notFound('contact', contactId);
    return;
  }
  const [row] = await db.select({ id: contacts.id, mergedIntoId: contacts.mergedIntoId }).from(contacts).where(eq(contacts.id, contactId));
  if (!row) throw notFound('contact', contactId);
  const scope = await loadAccessScope(db, viewer);
  // A merged contact's conversations moved to the contact it merged into: follow the tombstone.
  const ids = row.mergedIntoId ? [row.id, row.mergedIntoId] : [row.id];
  const [allowed] = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(inArray(conversations.contactId, ids), conversationAccessCondition(scope, conversations)))
    .limit(1);
  if (!allowed) throw forbidden('contact');
}

export async function assertMessageAccess(db: Db, viewer: Viewer, messageId: string): Promise<void> {
  const [row] = await db.select({ conversationId: messages.conversationId }).from(messages).where(eq(messages.id, messageId));
  if (!row) throw notFound('message', messageId);
  await assertConversationAccess(db, viewer, row.conversationId);
}

/** A file is the message's that carries it; one not (yet) on a message is only for admins. */
export async function assertAttachmentAccess(db: Db, viewer: Viewer, attachmentId: string): Promise<void> {
  const [row] = await db.select({ messageId: attachments.messageId }).from(attachments).where(eq(attachments.id, attachmentId));
  if (!row) throw notFound('attachment', attachmentId);
  if (viewer.role === 'admin') return;
  if (!row.messageId) throw forbidden('attachment');
  await assertMessageAccess(db, viewer, row.messageId);
}

/** The conversations, among ids, the viewer may see (for filtering lists of events or rows). */
export async function visibleConversationIds(db: Db, viewer: Viewer, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const scope = await loadAccessScope(db, viewer);
  const condition = conversationAccessCondition(scope, conversations);
  const rows = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(inArray(conversations.id, ids), condition));
  return new Set(rows.map((r) => r.id));
}

export type ObjectAccess = 'conversation' | 'contact' | 'message' | 'attachment';

/** The check for the object a route's `:id` names. */
export function assertObjectAccess(db: Db, viewer: Viewer, kind: ObjectAccess, id: string): Promise<void> {
  switch (kind) {
    case 'conversation':
      return assertConversationAccess(db, viewer, id);
    case 'contact':
      return assertContactAccess(db, viewer, id);
    case 'message':
      return assertMessageAccess(db, viewer, id);
    case 'attachment':
      return assertAttachmentAccess(db, viewer, id);
  }
}
