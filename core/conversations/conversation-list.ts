import { and, asc, desc, eq, getTableColumns, ne, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { conversationAccessCondition, loadAccessScope, type AccessScope } from '../access/conversation-access.js';
import { resolveLiveContactId } from '../contacts/contact-merge.js';
import type { Db } from '../db/client.js';
import { channels, contacts, conversationStatuses, conversations, messages, teams, users, type UserRole } from '../db/schema.js';
import { HubError } from '../errors.js';
import { cursorPart, decodeCursor, encodeCursor } from '../pagination.js';

export const conversationViews = ['mine', 'queue', 'all'] as const;

/** Message text is searched in this many conversations of the list (its first ones, in its order)… */
export const searchWindowConversations = 1000;
/** …and in this many of each one's latest messages, so a search reads a bounded number of rows. */
export const searchWindowMessages = 50;
/**
 * A search takes the contacts whose name (and those whose identity value) match best, at most
 * this many of each: a short or common query ("Li", "138") matches a good share of all
 * customers, and listing their conversations would read the table.
 */
export const searchContacts = 1000;
/** …ranked among the first this many the index finds, so ranking costs the same however many match. */
export const searchCandidates = 10_000;
/** Characters of the last message a list row shows. */
export const previewLength = 120;

export const conversationListQuery = z.object({
  /**
   * `mine`: assigned to the caller; `queue`: waiting in the routing queue, in line order (highest
   * priority, then longest waiting, first); `all`: every conversation (not for agents). Left out,
   * no view applies.
   */
  view: z.enum(conversationViews).optional(),
  status: z.enum(conversationStatuses).optional(),
  contactId: z.uuid().optional(),
  /** The channel the customer last wrote on. */
  channelId: z.uuid().optional(),
  assigneeId: z.uuid().optional(),
  teamId: z.uuid().optional(),
  /** Routing priority: 0 low, 1 normal, 2 high, 3 urgent. */
  priority: z.coerce.number().int().min(0).max(3).optional(),
  /**
   * Search: contact name and identity values (phone, email, openid…; two characters match the
   * start, three or more anywhere), and the text of the latest messages of the first
   * `searchWindowConversations` conversations the other filters select.
   */
  q: z.string().trim().min(2, 'q needs at least 2 characters').max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(300).optional(),
});
export type ConversationListQuery = z.infer<typeof conversationListQuery>;

export interface ListViewer {
  id: string;
  role: UserRole;
}

/**
 * Agents list their own conversations, the queue and what else the need-to-know rule lets them
 * see (core/access/conversation-access.ts), never view=all or someone else's by assignee; every
 * list is narrowed by that rule.
 */
function checkViewer(viewer: ListViewer, query: ConversationListQuery): void {
  if (viewer.role !== 'agent') return;
  if (query.view === 'all') throw new HubError(403, 'forbidden', 'agents list their own conversations (view=mine) or the queue (view=queue), not view=all');
  if (query.assigneeId && query.assigneeId !== viewer.id) throw new HubError(403, 'forbidden', "agents may not list conversations assigned to someone else");
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** The conversations a search reads message text in, as an alias inside the list's own statement. */
const searchWindow = alias(conversations, 'search_window');
type ConversationTable = typeof conversations | typeof searchWindow;
type ConversationRow = typeof conversations.$inferSelect;

/** The filters other than search and paging, on `t` (the list's table or the search window's alias). */
function filterConditions(t: ConversationTable, viewer: ListViewer, query: ConversationListQuery, contactId: string | undefined, scope: AccessScope): SQL[] {
  const where: SQL[] = [];
  const access = conversationAccessCondition(scope, t);
  if (access) where.push(access);
  if (query.view === 'mine') where.push(eq(t.assigneeId, viewer.id));
  if (query.view === 'queue') where.push(eq(t.routingStatus, 'queued'));
  if (query.status) where.push(eq(t.status, query.status));
  if (contactId) where.push(eq(t.contactId, contactId));
  if (query.channelId) where.push(eq(t.lastChannelId, query.channelId));
  if (query.assigneeId) where.push(eq(t.assigneeId, query.assigneeId));
  if (query.teamId) where.push(eq(t.teamId, query.teamId));
  if (query.priority !== undefined) where.push(eq(t.priority, query.priority));
  return where;
}

/**
 * Where a most-recently-active list reads from, named `name`. Without a status filter, or one
 * that picks a few rows (assignee, contact), it is the conversations of each status one after
 * the other: PostgreSQL then merges the status index's three ranges in order and stops at the
 * page, where reading the table whole would sort every conversation ever held.
 */
function recentSource(name: string, byStatus: boolean): SQL {
  if (!byStatus) return sql`${conversations} as ${sql.identifier(name)}`;
  // Each branch ordered: that is what lets the planner merge them instead of sorting the union.
  const branches = conversationStatuses.map(
    (status) => sql`(select * from ${conversations} where status = ${sql.raw(`'${status}'`)} order by last_message_at desc, id desc)`,
  );
  return sql`(${sql.join(branches, sql` union all `)}) as ${sql.identifier(name)}`;
}

/** The list's order: the queue in line order, everything else most recently active first. */
function ordering(t: ConversationTable, queue: boolean) {
  return queue ? [desc(t.priority), asc(t.queuedAt), asc(t.id)] : [desc(t.lastMessageAt), desc(t.id)];
}

// Priorities are a smallint column (0 to 3).
const queueCursor = z.tuple([z.number().int().min(0).max(3), cursorPart.timestamp, cursorPart.uuid]);
const activityCursor = z.tuple([cursorPart.timestamp, cursorPart.uuid]);

/**
 * Keyset condition after a cursor. Timestamps travel as PostgreSQL's own text, which keeps their
 * microseconds (a JavaScript Date would drop them and skip rows).
 */
function afterCursor(t: ConversationTable, queue: boolean, cursor: string | undefined): SQL | undefined {
  if (queue) {
    const after = decodeCursor(cursor, queueCursor);
    if (!after) return undefined;
    const [priority, queuedAt, id] = after;
    return sql`(-${t.priority}, ${t.queuedAt}, ${t.id}) > (${-priority}, ${queuedAt}::timestamptz, ${id}::uuid)`;
  }
  const after = decodeCursor(cursor, activityCursor);
  if (!after) return undefined;
  const [at, id] = after;
  // The plain bound is what an index on (…, last_message_at) can start from; the pair breaks ties.
  return sql`${t.lastMessageAt} <= ${at}::timestamptz and (${t.lastMessageAt}, ${t.id}) < (${at}::timestamptz, ${id}::uuid)`;
}

/**
 * Conversations a search finds: those of the contacts whose name or identity matches best
 * (trigram indexes and similarity), and those among the first conversations of the list whose
 * latest messages contain the text. Both sides are bounded: the contact side by
 * `searchContacts`, the message side by the window.
 */
function searchCondition(t: ConversationTable, q: string, windowWhere: SQL[], queue: boolean, byStatus: boolean): SQL {
  const contactPattern = q.length < 3 ? `${escapeLike(q)}%` : `%${escapeLike(q)}%`;
  const textPattern = `%${escapeLike(q)}%`;
  const w = searchWindow;
  const windowIds = sql`select ${w.id} from ${recentSource('search_window', byStatus)} ${windowWhere.length ? sql`where ${and(...windowWhere)}` : sql``} order by ${sql.join(ordering(w, queue), sql`, `)} limit ${searchWindowConversations}`;
  // An array, not IN: the page then fetches what was found by primary key, where IN let the
  // planner hash it against a scan of every conversation.
  return sql`${t.id} = any(array(
    select byc.id from ${conversations} byc where byc.contact_id in (
      (select k.id from (select k.id, k.name from ${contacts} k where k.name ilike ${contactPattern} limit ${searchCandidates}) k
        order by similarity(k.name, ${q}) desc, k.id limit ${searchContacts})
      union (select i.contact_id from (select i.id, i.contact_id, i.value from contact_identities i where i.value ilike ${contactPattern} limit ${searchCandidates}) i
        order by similarity(i.value, ${q}) desc, i.id limit ${searchContacts}))
    union
    select win.id from (${windowIds}) win where exists (
      select 1 from (select m.text from ${messages} m where m.conversation_id = win.id order by m.seq desc limit ${searchWindowMessages}) r
      where r.text ilike ${textPattern})))`;
}

/**
 * One page of conversations for a console list, each with what a row shows: the contact, the
 * channel the customer last wrote on, the last message (not staff notes), team, assignee, how
 * long it has waited in the queue and how many customer messages await an agent's reply. One
 * statement: the page is chosen first, then only its rows are joined with the rest.
 */
export async function listConversations(db: Db, viewer: ListViewer, query: ConversationListQuery) {
  checkViewer(viewer, query);
  const scope = await loadAccessScope(db, viewer);
  const queue = query.view === 'queue';
  const contactId = query.contactId ? await resolveLiveContactId(db, query.contactId) : undefined;
  const byStatus = !queue && !query.status && query.view !== 'mine' && !query.assigneeId && !contactId;
  const t = conversations;
  const where = filterConditions(t, viewer, query, contactId, scope);
  if (query.q) where.push(searchCondition(t, query.q, filterConditions(searchWindow, viewer, query, contactId, scope), queue, byStatus));
  const after = afterCursor(t, queue, query.cursor);
  if (after) where.push(after);

  const columns = getTableColumns(conversations);
  // Named by hand: the page may read from the per-status source, which the builder cannot check
  // columns against. Each decodes as its column does.
  const pageFields = Object.fromEntries(
    Object.entries(columns).map(([key, column]) => [key, sql`${sql.identifier('conversations')}.${sql.identifier(column.name)}`.mapWith(column).as(key)]),
  ) as { [K in keyof ConversationRow]: SQL.Aliased<ConversationRow[K]> };
  const page = db
    .select({
      ...pageFields,
      cursorAt: sql<string>`(${queue ? t.queuedAt : t.lastMessageAt})::text`.as('cursor_at'),
      waitingSeconds: sql<number | null>`case when ${t.routingStatus} = 'queued' then floor(extract(epoch from now() - ${t.queuedAt}))::int end`.as('waiting_seconds'),
    })
    // A search's page starts from what it found; other pages read the list in order.
    .from(byStatus && !query.q ? recentSource('conversations', true) : t)
    .where(and(...where))
    .orderBy(...ordering(t, queue))
    .limit(query.limit + 1)
    .as('page');
  // The page's columns, always named with the page: the joined tables have columns of the same names.
  const col = <K extends keyof ConversationRow>(key: K) =>
    sql<ConversationRow[K]>`${sql.identifier('page')}.${sql.identifier(key)}`.mapWith(columns[key]);
  const lastMessage = db
    .select({
      id: messages.id,
      text: sql<string | null>`left(${messages.text}, ${previewLength})`.as('preview_text'),
      truncated: sql<boolean>`coalesce(char_length(${messages.text}) > ${previewLength}, false)`.as('preview_truncated'),
      contentKind: messages.contentKind,
      direction: messages.direction,
      authorKind: messages.authorKind,
      at: messages.createdAt,
    })
    .from(messages)
    .where(and(eq(messages.conversationId, col('id')), ne(messages.direction, 'internal')))
    .orderBy(desc(messages.seq))
    .limit(1)
    .as('last_message');
  const assignee = alias(users, 'assignee');
  const pageColumns = Object.fromEntries(Object.keys(columns).map((key) => [key, col(key as keyof ConversationRow)])) as {
    [K in keyof ConversationRow]: SQL<ConversationRow[K]>;
  };
  const rows = await db
    .select({
      ...pageColumns,
      cursorAt: sql<string>`${sql.identifier('page')}.cursor_at`,
      waitingSeconds: sql<number | null>`${sql.identifier('page')}.waiting_seconds`,
      contact: { id: contacts.id, name: contacts.name, tier: contacts.tier },
      lastChannel: { id: channels.id, type: channels.type, name: channels.name },
      lastMessage: {
        id: lastMessage.id,
        text: lastMessage.text,
        truncated: lastMessage.truncated,
        contentKind: lastMessage.contentKind,
        direction: lastMessage.direction,
        authorKind: lastMessage.authorKind,
        at: lastMessage.at,
      },
      team: { id: teams.id, name: teams.name },
      assignee: { id: assignee.id, name: assignee.name },
      // Customer messages since an agent last replied, counted up to 99 (a badge, not a report).
      unansweredCount: sql<number>`(select count(*)::int from (select 1 from ${messages} u where u.conversation_id = ${col('id')}
          and u.direction = 'inbound' and u.seq > coalesce((select max(a.seq) from ${messages} a where a.conversation_id = ${col('id')}
            and a.direction = 'outbound' and a.author_kind = 'agent'), 0) limit 99) x)`,
    })
    .from(page)
    .innerJoin(contacts, eq(contacts.id, col('contactId')))
    .leftJoin(channels, eq(channels.id, col('lastChannelId')))
    .leftJoin(teams, eq(teams.id, col('teamId')))
    .leftJoin(assignee, eq(assignee.id, col('assigneeId')))
    .leftJoinLateral(lastMessage, sql`true`)
    .orderBy(...(queue ? [desc(col('priority')), asc(col('queuedAt')), asc(col('id'))] : [desc(col('lastMessageAt')), desc(col('id'))]));

  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  const nextCursor =
    rows.length > query.limit && last ? encodeCursor(queue ? [last.priority, last.cursorAt, last.id] : [last.cursorAt, last.id]) : null;
  return { items: items.map(({ cursorAt: _cursorAt, ...item }) => item), nextCursor };
}
export type ConversationListItem = Awaited<ReturnType<typeof listConversations>>['items'][number];
