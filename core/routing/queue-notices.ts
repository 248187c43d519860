import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { contacts, conversations, queueLine } from '../db/schema.js';
import { HubError } from '../errors.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { lockedConversationColumns, queueOutboundMessage } from '../messages/outbound.js';
import type { RoutingDeps } from './assign-conversations.js';
import { primaryLanguage } from './agent-profiles.js';
import type { RoutingSettings } from './routing-settings.js';

/** What a wait estimate is made of: recent handling times and the seats serving the queue. */
interface WaitMeasure {
  /** Mean seconds the last resolved assignments (up to 200) took, null before there are any. */
  mean: number | null;
  n: number;
  seats: { teamIds: string[]; capacity: number }[];
}

/**
 * The wait measure as one value. It does not depend on the row it is read with, so PostgreSQL
 * computes it once per statement, and only when a row is returned. Plain SQL text: it has no
 * parameters, and the query builder would assemble it anew for every notice.
 */
const waitMeasure = sql<WaitMeasure>`(select jsonb_build_object('mean', avg(recent.seconds), 'n', count(*), 'seats',
    (select coalesce(jsonb_agg(jsonb_build_object('teamIds', p.team_ids, 'capacity', p.capacity)), '[]') from agent_profiles p where p.presence in ('online', 'busy')))
  from (select extract(epoch from a.ended_at - a.assigned_at) as seconds from conversation_assignments a
    where a.ended_at is not null and a.end_reason = 'resolved' order by a.ended_at desc limit 200) recent)`;

/**
 * Every waiting conversation with its place in line (1 = next). Each team has its own line,
 * ordered by priority and then by how long the conversation has waited. `only` limits the rows
 * returned (not the ranking) to some conversations: their places are counted in the line's
 * index instead of ranking the whole queue, which a queue of thousands makes slow. Both ways
 * must order alike: priority descending, then queued_at, then id. `measureWait` reads the wait
 * measure along with each row (null otherwise), saving notices a statement.
 */
export async function queuePositions(db: Db, options: { teamId?: string | undefined; only?: string[] | undefined; measureWait?: boolean } = {}) {
  const { teamId, only } = options;
  const columns = {
    id: conversations.id,
    teamId: conversations.teamId,
    priority: conversations.priority,
    queuedAt: conversations.queuedAt,
    requiredSkills: conversations.requiredSkills,
    language: contacts.language,
    noticePosition: conversations.queueNoticePosition,
    noticeAt: conversations.queueNoticeAt,
    waitMeasure: (options.measureWait ? waitMeasure : sql<WaitMeasure | null>`null::jsonb`).as('wait_measure'),
  };
  if (only) {
    return db
      .select({
        ...columns,
        position: sql<number>`1 + (select count(*) from conversations ahead where ahead.routing_status = 'queued'
          and ${queueLine(sql`ahead.team_id`)} = ${queueLine(conversations.teamId)}
          and (-ahead.priority, ahead.queued_at, ahead.id) < (-${conversations.priority}, ${conversations.queuedAt}, ${conversations.id}))`.mapWith(Number),
      })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .where(and(eq(conversations.routingStatus, 'queued'), inArray(conversations.id, only), teamId ? eq(conversations.teamId, teamId) : undefined))
      .orderBy(conversations.teamId, desc(conversations.priority), conversations.queuedAt, conversations.id);
  }
  const ranked = db
    .select({
      ...columns,
      position: sql<number>`row_number() over (partition by ${conversations.teamId} order by ${conversations.priority} desc, ${conversations.queuedAt}, ${conversations.id})`
        .mapWith(Number)
        .as('position'),
    })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(eq(conversations.routingStatus, 'queued'))
    .as('ranked');
  return db
    .select()
    .from(ranked)
    .where(teamId ? eq(ranked.teamId, teamId) : undefined)
    .orderBy(ranked.teamId, ranked.position);
}

/**
 * Minutes until a conversation at `position` is likely served: the measured mean handling time
 * (or the configured default before there is history), shared among the seats serving its line.
 */
function waitEstimator(measured: WaitMeasure | null, settings: RoutingSettings) {
  const handleMinutes = measured && measured.n >= 10 ? measured.mean! / 60 : settings.defaultHandleMinutes;
  const seats = measured?.seats ?? [];
  return (position: number, teamId: string | null) => {
    const serving = seats.filter((s) => !teamId || s.teamIds.includes(teamId)).reduce((sum, s) => sum + s.capacity, 0);
    return Math.max(1, Math.ceil((position * handleMinutes) / Math.max(1, serving)));
  };
}

/**
 * Tells waiting customers their place and estimated wait on their own channel: once when they
 * join, then only when the place moved by at least `minPositionChange`, and never more often
 * than `minIntervalSeconds`. `only` limits the check to some conversations (those just queued).
 */
export async function sendQueueNotices(deps: RoutingDeps, settings: RoutingSettings, only?: string[]): Promise<DomainEvent[]> {
  const notice = settings.queueNotice;
  if (!notice.enabled) return [];
  const now = Date.now();
  const due = (await queuePositions(deps.db, { only, measureWait: true })).filter((row) => {
    if (row.noticePosition === null) return true;
    const moved = Math.abs(row.position - row.noticePosition) >= notice.minPositionChange;
    return moved && (!row.noticeAt || now - row.noticeAt.getTime() >= notice.minIntervalSeconds * 1000);
  });
  if (!due.length) return [];
  const estimate = waitEstimator(due[0]!.waitMeasure, settings);
  const events: DomainEvent[] = [];
  for (const row of due) {
    const texts = primaryLanguage(row.language) === 'en' ? notice.texts.en : notice.texts.zh;
    // The numbers travel with the text, so a bank's app or system can word the notice itself.
    const queueNotice = { position: row.position, ahead: row.position - 1, minutes: estimate(row.position, row.teamId) };
    const text = texts
      .replaceAll('{position}', String(queueNotice.position))
      .replaceAll('{ahead}', String(queueNotice.ahead))
      .replaceAll('{minutes}', String(queueNotice.minutes));
    const message = await deps.db.transaction(async (tx) => {
      // Locks the conversation while it still waits, records the notice and reads what queueing
      // the message needs, in one statement.
      const [locked] = await tx
        .update(conversations)
        .set({ queueNoticePosition: row.position, queueNoticeAt: sql`now()` })
        .where(and(eq(conversations.id, row.id), eq(conversations.routingStatus, 'queued')))
        .returning(lockedConversationColumns);
      if (!locked) return undefined;
      try {
        return await queueOutboundMessage(
          tx,
          deps.adapters,
          { conversationId: row.id, authorKind: 'system', text, payload: { queueNotice } },
          locked,
        );
      } catch (error) {
        // A customer no channel can reach (or a disabled channel) just waits without updates.
        if (error instanceof HubError) return undefined;
        throw error;
      }
    });
    if (message) {
      events.push(outboundMessageCreated(message));
    }
  }
  return events;
}
