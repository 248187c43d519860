import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { badRequest } from './errors.js';

/** Opaque keyset cursors: callers page without offsets, so pages stay stable as rows arrive. */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number)[] | undefined {
  if (!cursor) return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === arity) return parts as (string | number)[];
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

/** Keyset condition for newest-first lists ordered by (timestamp desc, id desc). */
export function olderThan(at: AnyPgColumn, id: AnyPgColumn, cursor: string | undefined): SQL | undefined {
  const after = decodeCursor(cursor, 2);
  if (!after) return undefined;
  const time = new Date(after[0] as string);
  return or(lt(at, time), and(eq(at, time), lt(id, after[1] as string)));
}
