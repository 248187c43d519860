import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Db } from '../db/client.js';
import { isValidTimeZone } from '../sla/business-time.js';

export const reportGroups = ['day', 'team', 'agent', 'channel'] as const;

export const serviceReportQuery = z.object({
  /** Conversations opened from this instant (inclusive)… */
  from: z.iso.datetime({ offset: true }),
  /** …until this one (exclusive). */
  to: z.iso.datetime({ offset: true }),
  groupBy: z.enum(reportGroups).default('day'),
  teamId: z.uuid().optional(),
  channelId: z.uuid().optional(),
  agentId: z.uuid().optional(),
  /** Days are counted in this zone (IANA), the server's by default. */
  timeZone: z.string().refine(isValidTimeZone, 'an IANA time zone such as Asia/Shanghai').optional(),
});
export type ServiceReportQuery = z.infer<typeof serviceReportQuery>;

export interface ServiceReportRow {
  key: string | null;
  label: string | null;
  conversations: number;
  firstResponses: number;
  firstResponseAvgSeconds: number | null;
  firstResponseP50Seconds: number | null;
  firstResponseP90Seconds: number | null;
  resolved: number;
  resolutionRate: number | null;
  csatResponses: number;
  csatAverage: number | null;
  /** Share of ratings that are 4 or 5. */
  csatSatisfied: number | null;
  slaWarnings: number;
  slaBreaches: number;
}

/**
 * Service figures of the conversations opened in a period, per day, team, agent (who has or last
 * had it) or channel (the first the customer wrote on): first response time of a person (from the
 * handover, as average and percentiles), resolution rate, CSAT and SLA warnings and breaches.
 */
export async function serviceReport(db: Db, query: ServiceReportQuery): Promise<ServiceReportRow[]> {
  const timeZone = query.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const key: Record<(typeof reportGroups)[number], SQL> = {
    day: sql`to_char(c.created_at at time zone ${timeZone}, 'YYYY-MM-DD')`,
    team: sql`c.team_id::text`,
    agent: sql`c.assignee_id::text`,
    channel: sql`coalesce(c.seen_channel_ids[1], c.last_channel_id)::text`,
  };
  const label: Record<(typeof reportGroups)[number], SQL> = {
    day: sql`min(g.key)`,
    team: sql`(select name from teams where id::text = g.key)`,
    agent: sql`(select coalesce(name, email) from users where id::text = g.key)`,
    channel: sql`(select name from channels where id::text = g.key)`,
  };
  const filters: SQL[] = [sql`c.created_at >= ${query.from}::timestamptz`, sql`c.created_at < ${query.to}::timestamptz`];
  if (query.teamId) filters.push(sql`c.team_id = ${query.teamId}`);
  if (query.agentId) filters.push(sql`c.assignee_id = ${query.agentId}`);
  if (query.channelId) filters.push(sql`coalesce(c.seen_channel_ids[1], c.last_channel_id) = ${query.channelId}`);
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`with g as (
          select ${key[query.groupBy]} as key, c.id, c.status,
            extract(epoch from (
              select min(m.created_at) from messages m
              where m.conversation_id = c.id and m.direction = 'outbound' and m.author_kind = 'agent'
            ) - coalesce(c.handed_over_at, c.created_at)) as frt,
            s.rating,
            (select count(*) from sla_events e where e.conversation_id = c.id and e.kind = 'warning') as warnings,
            (select count(*) from sla_events e where e.conversation_id = c.id and e.kind = 'breach') as breaches
          from conversations c
          left join csat_surveys s on s.conversation_id = c.id
          where ${sql.join(filters, sql` and `)}
        )
        select g.key, ${label[query.groupBy]} as label,
          count(*)::int as conversations,
          count(g.frt)::int as first_responses,
          avg(g.frt)::float8 as frt_avg,
          percentile_cont(0.5) within group (order by g.frt)::float8 as frt_p50,
          percentile_cont(0.9) within group (order by g.frt)::float8 as frt_p90,
          count(*) filter (where g.status = 'resolved')::int as resolved,
          count(g.rating)::int as csat_responses,
          avg(g.rating)::float8 as csat_avg,
          (count(*) filter (where g.rating >= 4))::float8 / nullif(count(g.rating), 0) as csat_satisfied,
          coalesce(sum(g.warnings), 0)::int as warnings,
          coalesce(sum(g.breaches), 0)::int as breaches
        from g group by g.key order by g.key nulls last`,
  );
  const round = (value: unknown, digits = 1) => (value === null || value === undefined ? null : Math.round(Number(value) * 10 ** digits) / 10 ** digits);
  return rows.map((r) => ({
    key: (r.key as string | null) ?? null,
    label: (r.label as string | null) ?? null,
    conversations: Number(r.conversations),
    firstResponses: Number(r.first_responses),
    firstResponseAvgSeconds: round(r.frt_avg),
    firstResponseP50Seconds: round(r.frt_p50),
    firstResponseP90Seconds: round(r.frt_p90),
    resolved: Number(r.resolved),
    resolutionRate: Number(r.conversations) ? round(Number(r.resolved) / Number(r.conversations), 3) : null,
    csatResponses: Number(r.csat_responses),
    csatAverage: round(r.csat_avg, 2),
    csatSatisfied: round(r.csat_satisfied, 3),
    slaWarnings: Number(r.warnings),
    slaBreaches: Number(r.breaches),
  }));
}

const csvColumns: Array<keyof ServiceReportRow> = [
  'key',
  'label',
  'conversations',
  'firstResponses',
  'firstResponseAvgSeconds',
  'firstResponseP50Seconds',
  'firstResponseP90Seconds',
  'resolved',
  'resolutionRate',
  'csatResponses',
  'csatAverage',
  'csatSatisfied',
  'slaWarnings',
  'slaBreaches',
];

/** RFC 4180 CSV; a cell that a spreadsheet would run as a formula is prefixed with a quote. */
export function serviceReportCsv(rows: ServiceReportRow[]): string {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [csvColumns.join(','), ...rows.map((row) => csvColumns.map((c) => cell(row[c])).join(','))].join('\r\n') + '\r\n';
}
