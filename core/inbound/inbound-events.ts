import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { AcceptedEvent } from '../channels/contract.js';
import { queryRows, type Db } from '../db/client.js';
import { inboundEvents } from '../db/schema.js';

export interface RecordedEvent {
  id: string;
  /** A redelivery of an event already stored: answer the provider the same way, do nothing else. */
  duplicate: boolean;
}

/**
 * Stores provider events durably, one row per dedupe key. Runs as one statement per event with
 * ON CONFLICT, so concurrent redeliveries of one event race safely to a single row.
 */
export async function recordInboundEvents(db: Db, channelId: string, events: AcceptedEvent[]): Promise<RecordedEvent[]> {
  const recorded: RecordedEvent[] = [];
  for (const event of events) {
    // Written out rather than built: this statement runs on every acknowledged request.
    const [inserted] = await queryRows<{ id: string }>(
      db,
      sql`insert into inbound_events (channel_id, dedupe_key, payload)
        values (${channelId}::uuid, ${event.dedupeKey}::text, ${JSON.stringify(event.payload)}::jsonb)
        on conflict do nothing returning id`,
    );
    if (inserted) {
      recorded.push({ id: inserted.id, duplicate: false });
      continue;
    }
    const [existing] = await db
      .select({ id: inboundEvents.id })
      .from(inboundEvents)
      .where(and(eq(inboundEvents.channelId, channelId), eq(inboundEvents.dedupeKey, event.dedupeKey)));
    recorded.push({ id: existing!.id, duplicate: true });
  }
  if (recorded.length) await noteInboundActivity(db, channelId);
  return recorded;
}

/** How stale a channel's `last_inbound_at` may get; it is a health hint, not a record. */
const inboundActivityIntervalMs = 10_000;
const inboundActivityWritten = new Map<string, number>();

/**
 * Records on the channel that its provider reached the hub. The acknowledgement path runs it for
 * every request, so it writes at most once per interval per channel and process: between writes
 * it costs a map lookup, and the channel list reads one column instead of searching the events.
 * A failed write is only retried with the next event: the events themselves are committed.
 */
async function noteInboundActivity(db: Db, channelId: string): Promise<void> {
  const now = Date.now();
  if (now - (inboundActivityWritten.get(channelId) ?? 0) < inboundActivityIntervalMs) return;
  inboundActivityWritten.set(channelId, now);
  try {
    await db.execute(sql`update channels set last_inbound_at = now()
      where id = ${channelId}::uuid and (last_inbound_at is null or last_inbound_at < now())`);
  } catch {
    inboundActivityWritten.delete(channelId);
  }
}

/** Events committed but still unprocessed after the grace period: their queue job may be lost. */
export async function findStaleInboundEvents(db: Db, graceMs: number, limit = 500): Promise<string[]> {
  const rows = await db
    .select({ id: inboundEvents.id })
    .from(inboundEvents)
    .where(and(eq(inboundEvents.status, 'pending'), lt(inboundEvents.receivedAt, sql`now() - make_interval(secs => ${graceMs / 1000})`)))
    .orderBy(inboundEvents.receivedAt)
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Puts dead-lettered events back in line, e.g. after fixing the cause an admin saw in `error`. */
export async function requeueDeadInboundEvents(db: Db, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await db
    .update(inboundEvents)
    .set({ status: 'pending', attempts: 0, error: null })
    .where(and(inArray(inboundEvents.id, ids), eq(inboundEvents.status, 'dead')))
    .returning({ id: inboundEvents.id });
  return rows.map((r) => r.id);
}
