import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Db } from '../db/client.js';

/** The hub process's own time zone (the TZ environment variable, else the system's). */
export const serverTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

const isTimeZone = (name: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
};

export const overviewQuery = z.object({
  /** IANA time zone whose midnight starts "today", e.g. Asia/Shanghai; the server's own when left out. */
  timeZone: z.string().trim().min(1).max(64).refine(isTimeZone, 'expected an IANA time zone such as Asia/Shanghai').optional(),
});

interface QueueRow extends Record<string, unknown> {
  teamId: string | null;
  name: string | null;
  waiting: number;
  longestWaitSeconds: number | null;
}

interface AgentRow extends Record<string, unknown> {
  userId: string;
  name: string;
  role: string;
  presence: string;
  presenceChangedAt: string | Date;
  activeConversations: number;
  capacity: number;
  teams: { id: string; name: string }[];
}

interface ChannelDayRow extends Record<string, unknown> {
  channelId: string;
  name: string;
  type: string;
  inbound: number;
  outbound: number;
  conversationsOpened: number;
  since: string | Date;
  opened: number;
  resolved: number;
}

const toDate = (value: string | Date) => (value instanceof Date ? value : new Date(value));

/**
 * The waiting queue by line: every team's and the common line (no team, `teamId` null), read
 * from the queue's partial index.
 */
function readQueue(db: Db) {
  return queryRows<QueueRow>(
    db,
    sql`select t.id as "teamId", t.name, count(c.id)::int as waiting,
        floor(extract(epoch from now() - min(c.queued_at)))::int as "longestWaitSeconds"
      from teams t left join conversations c on c.team_id = t.id and c.routing_status = 'queued'
      group by t.id, t.name
      union all
      select null, null, count(*)::int, floor(extract(epoch from now() - min(queued_at)))::int
      from conversations where routing_status = 'queued' and team_id is null
      order by 2 nulls first`,
  );
}

function readAgents(db: Db) {
  return queryRows<AgentRow>(
    db,
    sql`select p.user_id as "userId", u.name, u.role, p.presence, p.presence_changed_at as "presenceChangedAt",
        p.active_count as "activeConversations", p.capacity,
        (select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name) order by t.name), '[]'::jsonb)
          from teams t where t.id = any (p.team_ids)) as teams
      from agent_profiles p join users u on u.id = p.user_id
      where not u.disabled
      order by u.name`,
  );
}

/**
 * Today's traffic per channel since local midnight in `timeZone`. Only conversations active
 * since midnight are read (a message bumps its conversation's last activity, so every message of
 * the day is in one of them), through the index on (status, last activity): the cost follows the
 * day's traffic, not the size of the tables, and no index is added to the messages the hub
 * stores on every request. Staff notes are not traffic. A conversation counts as opened on the
 * channel the customer first wrote on.
 */
function readToday(db: Db, timeZone: string) {
  return queryRows<ChannelDayRow>(
    db,
    sql`with bounds as (select (date_trunc('day', now() at time zone ${timeZone}) at time zone ${timeZone}) as since),
      active as (
        select c.id, c.created_at, coalesce(c.seen_channel_ids[1], c.last_channel_id) as first_channel_id
        from conversations c, bounds b
        where c.status in ('open', 'pending', 'resolved') and c.last_message_at >= b.since),
      -- A lateral kept apart (offset 0), so each active conversation's messages are read through
      -- its index: the planner cannot see how few conversations the midnight bound leaves, and
      -- would otherwise join by scanning every message.
      traffic as (
        select m.channel_id, count(*) filter (where m.direction = 'inbound')::int as inbound,
          count(*) filter (where m.direction = 'outbound')::int as outbound
        from active a, bounds b,
          lateral (select x.channel_id, x.direction from messages x where x.conversation_id = a.id and x.created_at >= b.since offset 0) m
        group by m.channel_id),
      opened as (
        select a.first_channel_id as channel_id, count(*)::int as n from active a, bounds b
        where a.created_at >= b.since group by a.first_channel_id),
      totals as (
        select (select coalesce(sum(n), 0)::int from opened) as opened,
          (select count(*)::int from conversations r, bounds b where r.status = 'resolved' and r.resolved_at >= b.since) as resolved)
      select ch.id as "channelId", ch.name, ch.type,
        coalesce(traffic.inbound, 0) as inbound, coalesce(traffic.outbound, 0) as outbound,
        coalesce(opened.n, 0) as "conversationsOpened",
        b.since, totals.opened, totals.resolved
      from bounds b
      cross join totals
      left join channels ch on true
      left join traffic on traffic.channel_id = ch.id
      left join opened on opened.channel_id = ch.id
      order by ch.name`,
  );
}

/**
 * What a supervisor watches: the queue (overall and per line), every agent's presence and load,
 * and today's traffic. Three statements, each reading indexes or small tables, in one read-only
 * transaction without JIT: the day's statement has no LIMIT and its estimate grows with the
 * day, and past `jit_above_cost` PostgreSQL spent several times the query's own time compiling it.
 */
export async function readSupervisorOverview(db: Db, options: { timeZone?: string | undefined } = {}) {
  const timeZone = options.timeZone ?? serverTimeZone();
  const [queueRows, agentRows, dayRows] = await db.transaction(
    async (tx) => {
      await tx.execute(sql`set local jit = off`);
      return [await readQueue(tx), await readAgents(tx), await readToday(tx, timeZone)] as const;
    },
    { accessMode: 'read only' },
  );
  const waiting = queueRows.reduce((sum, row) => sum + row.waiting, 0);
  const longest = queueRows.map((row) => row.longestWaitSeconds).filter((s): s is number => s !== null);
  const first = dayRows[0];
  return {
    queue: {
      waiting,
      longestWaitSeconds: longest.length ? Math.max(...longest) : null,
      byTeam: queueRows.map(({ teamId, name, waiting, longestWaitSeconds }) => ({ teamId, name, waiting, longestWaitSeconds })),
    },
    agents: agentRows.map((row) => ({ ...row, presenceChangedAt: toDate(row.presenceChangedAt) })),
    today: {
      timeZone,
      since: first ? toDate(first.since) : null,
      opened: first?.opened ?? 0,
      resolved: first?.resolved ?? 0,
      // With no channel at all the one row has nulls.
      byChannel: dayRows
        .filter((row) => row.channelId !== null)
        .map(({ channelId, name, type, inbound, outbound, conversationsOpened }) => ({ channelId, name, type, inbound, outbound, conversationsOpened })),
    },
  };
}
