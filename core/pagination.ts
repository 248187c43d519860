import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { badRequest } from './errors.js';

/** Opaque keyset cursors: callers page without offsets, so pages stay stable as rows arrive. */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

const timestampText = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A timestamp as a cursor carries it: ISO 8601 (`toISOString`) or PostgreSQL's own text
 * (`2025-01-02 03:04:05.123456+00`), with a real calendar date, so the database never sees a
 * value it cannot cast.
 */
function isTimestampText(value: string): boolean {
  const match = timestampText.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1900 &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60
  );
}

/** The kinds of value a cursor is made of; each list's cursor is a tuple of them. */
export const cursorPart = {
  timestamp: z.string().max(40).refine(isTimestampText),
  uuid: z.uuid(),
  /** A row's position in an identity column (messages.seq). */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
};

/**
 * Reads a cursor back as the typed tuple `shape` describes. Anything else, whatever was encoded
 * in it, is a 400: a crafted cursor never reaches SQL.
 */
export function decodeCursor<S extends z.ZodTuple>(cursor: string | undefined, shape: S): z.infer<S> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the error below
  }
  throw badRequest('invalid cursor: pass the nextCursor of a previous page');
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Trims the one extra row fetched to learn whether another page follows. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}

const timeAndId = z.tuple([cursorPart.timestamp, cursorPart.uuid]);

/** Keyset condition for newest-first lists ordered by (timestamp desc, id desc). */
export function olderThan(at: AnyPgColumn, id: AnyPgColumn, cursor: string | undefined): SQL | undefined {
  const after = decodeCursor(cursor, timeAndId);
  if (!after) return undefined;
  const time = new Date(after[0]);
  if (Number.isNaN(time.getTime())) throw badRequest('invalid cursor: pass the nextCursor of a previous page');
  return or(lt(at, time), and(eq(at, time), lt(id, after[1])));
}
