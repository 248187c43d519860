import { hash } from '@node-rs/argon2';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { apiTokens, userRoles, users, type UserRole } from '../db/schema.js';
import { issueApiToken } from './api-tokens.js';
import { conflict, HubError, notFound } from '../errors.js';
import { sha256Hex } from '../security/signatures.js';
import { parseInput } from '../validation.js';

export const createUserInput = z.object({
  email: z.email().transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).optional(),
  password: z.string().min(12, 'password must be at least 12 characters').max(1024).optional(),
  role: z.enum(userRoles),
});

/** The caller of a request: through an API token, or through a console session (cookie). */
export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  tokenId: string | null;
  /** Set for a console session: changes need its CSRF token. */
  session: { id: string; csrfToken: string } | null;
}

export async function createUser(db: Db, actorUserId: string | null, input: unknown) {
  const { email, name, password, role } = parseInput(createUserInput, input, 'user');
  const passwordHash = password ? await hash(password) : null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ email, name: name ?? email.split('@')[0]!, passwordHash, role })
      .onConflictDoNothing()
      .returning({ id: users.id, email: users.email, name: users.name, role: users.role });
    if (!row) throw conflict(`a user with email ${email} already exists`);
    await recordAudit(tx, { actorUserId, action: 'user.create', targetType: 'user', targetId: row.id, details: { email, role } });
    return row;
  });
}

/** Creates an API token for the user with this email (the CLI's way); see issueApiToken. */
export async function createApiToken(db: Db, actorUserId: string | null, email: string, name: string) {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email.toLowerCase()));
  if (!user) throw notFound('user', email);
  const { id, token } = await issueApiToken(db, actorUserId ?? user.id, { userId: user.id, name });
  return { id, token };
}

/** Resolves a bearer token to its user; throws 401 for unknown, revoked or disabled ones. */
export async function authenticateToken(db: Db, token: string): Promise<AuthenticatedUser> {
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
      lastUsedAt: apiTokens.lastUsedAt,
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      disabled: users.disabled,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, sha256Hex(token)), isNull(apiTokens.revokedAt)));
  if (!row || row.disabled) throw new HubError(401, 'unauthorized', 'invalid or revoked API token');
  // Last use is informational: recorded at most once a minute, so a busy token costs no write
  // (and no round trip) on most requests.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: sql`now()` }).where(eq(apiTokens.id, row.tokenId));
  }
  return { id: row.id, email: row.email, name: row.name, role: row.role, tokenId: row.tokenId, session: null };
}
