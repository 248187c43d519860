import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
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

/** Why a customer is told their place: they joined, moved up, or others were placed ahead. */
export type QueueNoticeReason = 'joined' | 'moved' | 'placed_ahead';

/**
 * The conversation's place in its line (1 = next), as a correlated subquery of a statement on
 * `conversations`: the same range count as `queuePositions(…, { only })`.
 */
const placeInLine = sql<number>`(1 + (select count(*) from conversations ahead where ahead.routing_status = 'queued'
  and ${queueLine(sql`ahead.team_id`)} = ${queueLine(conversations.teamId)}
  and (-ahead.priority, ahead.queued_at, ahead.id) < (-${conversations.priority}, ${conversations.queuedAt}, ${conversations.id})))::int`;

/**
 * Tells waiting customers their place and estimated wait on their own channel: once when they
 * join, then only when the place moved by at least `minPositionChange`, and never more often
 * than `minIntervalSeconds`. `only` limits the check to some conversations (those just queued).
 *
 * The line is in commit order (`queueStamp`), so a place only gets better, unless customers with
 * a higher priority (or returned to the line) are put ahead; that notice says so. Several
 * processes may check the same conversation at once (the handover's notice and any process's
 * sweeper): the place is counted again, and the throttle checked against the notice last
 * recorded, in the statement that records the new one, and only if the notice read is still the
 * last one. So each change is told once, with the place as it is when told.
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
    const told = row.noticePosition;
    const message = await deps.db.transaction(async (tx) => {
      // Locks the conversation while it still waits and nobody told it since it was read, counts
      // its place afresh, checks the throttle and records the notice, in one statement.
      const [locked] = await tx
        .update(conversations)
        .set({ queueNoticePosition: placeInLine, queueNoticeAt: sql`now()` })
        .where(
          and(
            eq(conversations.id, row.id),
            eq(conversations.routingStatus, 'queued'),
            told === null
              ? isNull(conversations.queueNoticePosition)
              : sql`${conversations.queueNoticePosition} = ${told}
                  and abs(${placeInLine} - ${told}) >= ${notice.minPositionChange}
                  and (${conversations.queueNoticeAt} is null or ${conversations.queueNoticeAt} <= now() - make_interval(secs => ${notice.minIntervalSeconds}))`,
          ),
        )
        .returning({ ...lockedConversationColumns, position: conversations.queueNoticePosition, teamId: conversations.teamId });
      if (!locked || locked.position === null) return undefined;
      const position = locked.position;
      const reason: QueueNoticeReason = told === null ? 'joined' : position > told ? 'placed_ahead' : 'moved';
      const english = primaryLanguage(row.language) === 'en';
      const texts = reason === 'placed_ahead' ? notice.placedAheadTexts : notice.texts;
      // The numbers travel with the text, so a bank's app or system can word the notice itself.
      const queueNotice = { position, ahead: position - 1, minutes: estimate(position, locked.teamId), reason };
      const text = (english ? texts.en : texts.zh)
        .replaceAll('{position}', String(queueNotice.position))
        .replaceAll('{ahead}', String(queueNotice.ahead))
        .replaceAll('{minutes}', String(queueNotice.minutes));
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
