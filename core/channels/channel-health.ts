import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';

/** What went wrong last on a channel: a send the provider refused (or that may not have left), or an inbound event given up on. */
export type ChannelError =
  | { source: 'outbound'; code: string | null; message: string | null; at: Date; messageId: string }
  | { source: 'inbound'; code: 'dead_letter'; message: string | null; at: Date; inboundEventId: string };

export interface ChannelHealth {
  /** When the provider last reached the hub on the channel (written at most every ~10 s). */
  lastInboundAt: Date | null;
  lastError: ChannelError | null;
}

interface HealthRow extends Record<string, unknown> {
  id: string;
  lastInboundAt: string | Date | null;
  failedId: string | null;
  failedCode: string | null;
  failedMessage: string | null;
  failedAt: string | Date | null;
  deadId: string | null;
  deadError: string | null;
  deadAt: string | Date | null;
}

const toDate = (value: string | Date) => (value instanceof Date ? value : new Date(value));

/**
 * Every channel's last inbound time and last error, in one statement. Each lookup is one row from
 * a partial index that holds only failed sends or dead events, so it costs the same however many
 * messages a channel carried. The status lists are written out: the indexes' conditions must be
 * visible to the planner, not parameters.
 */
export async function readChannelHealth(db: Db): Promise<Map<string, ChannelHealth>> {
  const rows = await queryRows<HealthRow>(
    db,
    sql`select ch.id, ch.last_inbound_at as "lastInboundAt",
        f.id as "failedId", f.error_code as "failedCode", f.error_message as "failedMessage", f.updated_at as "failedAt",
        d.id as "deadId", d.error as "deadError", d.received_at as "deadAt"
      from channels ch
      left join lateral (select m.id, m.error_code, m.error_message, m.updated_at from messages m
        where m.channel_id = ch.id and m.status in ('failed', 'unknown') order by m.updated_at desc limit 1) f on true
      left join lateral (select e.id, e.error, e.received_at from inbound_events e
        where e.channel_id = ch.id and e.status = 'dead' order by e.received_at desc limit 1) d on true`,
  );
  const health = new Map<string, ChannelHealth>();
  for (const row of rows) {
    const failed: ChannelError | null =
      row.failedId && row.failedAt
        ? { source: 'outbound', code: row.failedCode, message: row.failedMessage, at: toDate(row.failedAt), messageId: row.failedId }
        : null;
    const dead: ChannelError | null =
      row.deadId && row.deadAt
        ? { source: 'inbound', code: 'dead_letter', message: row.deadError, at: toDate(row.deadAt), inboundEventId: row.deadId }
        : null;
    const lastError = failed && dead ? (failed.at >= dead.at ? failed : dead) : (failed ?? dead);
    health.set(row.id, { lastInboundAt: row.lastInboundAt ? toDate(row.lastInboundAt) : null, lastError });
  }
  return health;
}
