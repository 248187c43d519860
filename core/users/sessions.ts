import { createHmac, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { userSessions, users } from '../db/schema.js';
import { HubError } from '../errors.js';
import { sha256Hex } from '../security/signatures.js';
import type { AuthenticatedUser } from './users.js';

/** How long console sessions last, in seconds. */
export interface SessionPolicy {
  idleSeconds: number;
  maxSeconds: number;
}

export function sessionPolicy(config: Pick<Config, 'SESSION_IDLE_MINUTES' | 'SESSION_MAX_HOURS'>): SessionPolicy {
  return { idleSeconds: config.SESSION_IDLE_MINUTES * 60, maxSeconds: config.SESSION_MAX_HOURS * 3600 };
}

/**
 * The CSRF token of a session: an HMAC keyed by the session token. Only a holder of the cookie
 * can compute it, it needs no storage, and a leaked CSRF token reveals nothing of the cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('hub console csrf v1').digest('base64url');
}

const seconds = (value: number) => sql`${value}::float8 * interval '1 second'`;

/** Opens a session; the plain token goes into the browser's cookie and only its hash is kept. */
export async function createSession(db: Db, input: { userId: string; ip: string | null; userAgent: string | null; policy: SessionPolicy }) {
  const token = randomBytes(32).toString('base64url');
  const [row] = await db
    .insert(userSessions)
    .values({
      userId: input.userId,
      tokenHash: sha256Hex(token),
      expiresAt: sql`now() + ${seconds(input.policy.maxSeconds)}`,
      ip: input.ip,
      // A header the client chooses: bounded so it cannot bloat the table.
      userAgent: input.userAgent?.slice(0, 512) ?? null,
    })
    .returning({ id: userSessions.id, expiresAt: userSessions.expiresAt });
  return { id: row!.id, expiresAt: row!.expiresAt, token, csrfToken: csrfTokenFor(token) };
}

export const sessionEnded = () => new HubError(401, 'session_expired', 'your session has ended (signed out, expired or revoked); sign in again');

/**
 * Resolves a session cookie to its user; throws 401 when the session is unknown, revoked, past
 * its lifetime, idle for too long, or its user is disabled.
 */
export async function authenticateSession(db: Db, token: string, policy: SessionPolicy): Promise<AuthenticatedUser> {
  const [row] = await db
    .select({
      sessionId: userSessions.id,
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      disabled: users.disabled,
      stale: sql<boolean>`${userSessions.lastSeenAt} < now() - interval '60 seconds'`,
    })
    .from(userSessions)
    .innerJoin(users, eq(users.id, userSessions.userId))
    .where(
      and(
        eq(userSessions.tokenHash, sha256Hex(token)),
        isNull(userSessions.revokedAt),
        gt(userSessions.expiresAt, sql`now()`),
        gt(userSessions.lastSeenAt, sql`now() - ${seconds(policy.idleSeconds)}`),
      ),
    );
  if (!row || row.disabled) throw sessionEnded();
  // Like API tokens: last seen is written at most once a minute, so most requests cost no write.
  // Idle expiry is therefore measured to within a minute.
  if (row.stale) await db.update(userSessions).set({ lastSeenAt: sql`now()` }).where(eq(userSessions.id, row.sessionId));
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    tokenId: null,
    session: { id: row.sessionId, csrfToken: csrfTokenFor(token) },
  };
}

/** Ends one session; true when it was still open. */
export async function revokeSession(db: Db, sessionId: string): Promise<boolean> {
  const rows = await db
    .update(userSessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(userSessions.id, sessionId), isNull(userSessions.revokedAt)))
    .returning({ id: userSessions.id });
  return rows.length > 0;
}

/** Ends every open session of a user, except `keepSessionId`; returns how many were ended. */
export async function revokeUserSessions(db: Db, userId: string, keepSessionId?: string | null): Promise<number> {
  const rows = await db
    .update(userSessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt), keepSessionId ? ne(userSessions.id, keepSessionId) : undefined))
    .returning({ id: userSessions.id });
  return rows.length;
}
