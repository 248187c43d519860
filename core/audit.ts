import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Db } from './db/client.js';
import { cursorPart, decodeCursor, toPage } from './pagination.js';
import { currentRequestContext } from './request-context.js';

export interface AuditEntry {
  actorUserId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details?: Record<string, unknown>;
  /** The client address; left out, the address of the request being served, if any. */
  ip?: string | null;
}

/**
 * Records an admin or agent action; call it inside the transaction that performs the action, as
 * late in it as possible. The database numbers the entry and links it into the hash chain (the
 * `audit_log_append` trigger), holding the chain's head until the transaction ends, so entries
 * of concurrent transactions line up one after another.
 */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  const ip = entry.ip !== undefined ? entry.ip : (currentRequestContext()?.ip ?? null);
  await db.execute(sql`insert into audit_log (actor_user_id, action, target_type, target_id, details, ip)
    values (${entry.actorUserId}::uuid, ${entry.action}, ${entry.targetType}, ${entry.targetId}, ${JSON.stringify(entry.details ?? {})}::jsonb, ${ip})`);
}

export const auditListQuery = z.object({
  /** The user who acted. */
  actorId: z.uuid().optional(),
  /** Actions starting with this, e.g. `channel.` or `auth.sign_in`. */
  action: z.string().trim().min(1).max(100).optional(),
  targetType: z.string().trim().min(1).max(100).optional(),
  targetId: z.string().trim().min(1).max(200).optional(),
  /** Entries at or after this instant (ISO 8601). */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Entries before this instant. */
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type AuditListQuery = z.infer<typeof auditListQuery>;

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** Audit entries newest first, filtered, paged by their place in the chain. */
export async function listAudit(db: Db, query: AuditListQuery) {
  const before = decodeCursor(query.cursor, z.tuple([cursorPart.seq]));
  const where: SQL[] = [sql`true`];
  if (before) where.push(sql`a.seq < ${before[0]}`);
  if (query.actorId) where.push(sql`a.actor_user_id = ${query.actorId}::uuid`);
  if (query.action) where.push(sql`a.action like ${`${escapeLike(query.action)}%`}`);
  if (query.targetType) where.push(sql`a.target_type = ${query.targetType}`);
  if (query.targetId) where.push(sql`a.target_id = ${query.targetId}`);
  if (query.from) where.push(sql`a.created_at >= ${query.from}::timestamptz`);
  if (query.to) where.push(sql`a.created_at < ${query.to}::timestamptz`);
  const rows = await queryRows<{
    id: string;
    seq: string | number;
    at: string;
    actor_id: string | null;
    actor_email: string | null;
    actor_name: string | null;
    action: string;
    target_type: string;
    target_id: string | null;
    ip: string | null;
    details: Record<string, unknown> | string;
    hash: string;
  }>(
    db,
    sql`select a.id, a.seq, to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at,
          a.actor_user_id as actor_id, u.email as actor_email, u.name as actor_name,
          a.action, a.target_type, a.target_id, a.ip, a.details, a.hash
        from audit_log a left join users u on u.id = a.actor_user_id
        where ${sql.join(where, sql` and `)}
        order by a.seq desc
        limit ${query.limit + 1}`,
  );
  const entries = rows.map((row) => ({
    id: row.id,
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor_id ? { id: row.actor_id, email: row.actor_email, name: row.actor_name } : null,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    ip: row.ip,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
    hash: row.hash,
  }));
  return toPage(entries, query.limit, (entry) => [entry.seq]);
}

const genesis = '0'.repeat(64);

export type ChainVerdict =
  | { ok: true; checked: number; head: { seq: number; hash: string } }
  | { ok: false; checked: number; brokenAt: { seq: number; id: string | null; reason: string } };

/**
 * Walks the whole chain in order, recomputing each entry's hash from the previous entry's hash
 * and its own content as the database wrote it, and reports the first link that does not hold:
 * an entry changed (its hash no longer matches), removed (a gap in the numbering, or a chain
 * shorter than its recorded head) or inserted out of band.
 */
export async function verifyAuditChain(db: Db, batchSize = 2_000): Promise<ChainVerdict> {
  let previous = { seq: 0, hash: genesis };
  let checked = 0;
  for (;;) {
    const rows = await queryRows<{ seq: string | number; id: string; hash: string; content: string }>(
      db,
      sql`select a.seq, a.id, a.hash, audit_log_content(a) as content from audit_log a where a.seq > ${previous.seq} order by a.seq limit ${batchSize}`,
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== previous.seq + 1) {
        return { ok: false, checked, brokenAt: { seq: previous.seq + 1, id: null, reason: `entries ${previous.seq + 1} to ${seq - 1} are missing` } };
      }
      const expected = createHash('sha256').update(previous.hash + row.content, 'utf8').digest('hex');
      if (expected !== row.hash) {
        return { ok: false, checked, brokenAt: { seq, id: row.id, reason: 'the entry does not match its hash: it was changed after it was written' } };
      }
      previous = { seq, hash: row.hash };
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const [head] = await queryRows<{ seq: string | number; hash: string }>(db, sql`select seq, hash from audit_chain where id = 1`);
  if (!head || Number(head.seq) !== previous.seq || head.hash !== previous.hash) {
    const headSeq = head ? Number(head.seq) : 0;
    return {
      ok: false,
      checked,
      brokenAt: {
        seq: previous.seq + 1,
        id: null,
        reason: headSeq > previous.seq ? `entries ${previous.seq + 1} to ${headSeq} are missing from the end` : 'the chain head does not match the last entry',
      },
    };
  }
  return { ok: true, checked, head: previous };
}
