import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { apiTokens, users } from '../db/schema.js';
import { HubError, notFound } from '../errors.js';
import { sha256Hex } from '../security/signatures.js';
import { parseInput } from '../validation.js';

export const issueApiTokenInput = z.object({
  userId: z.uuid(),
  name: z.string().trim().min(1).max(200),
});

/** What the API shows of a token: never its hash. */
const tokenColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  userId: apiTokens.userId,
  userEmail: users.email,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

export async function listApiTokens(db: Db) {
  return db.select(tokenColumns).from(apiTokens).innerJoin(users, eq(users.id, apiTokens.userId)).orderBy(desc(apiTokens.createdAt));
}

async function getApiToken(db: Db, id: string) {
  const [row] = await db.select(tokenColumns).from(apiTokens).innerJoin(users, eq(users.id, apiTokens.userId)).where(eq(apiTokens.id, id));
  if (!row) throw notFound('API token', id);
  return row;
}

/** Creates an API token for a user; the plain token is returned once and only its hash is kept. */
export async function issueApiToken(db: Db, actorUserId: string, input: unknown) {
  const { userId, name } = parseInput(issueApiTokenInput, input);
  const token = `hub_${randomBytes(32).toString('base64url')}`;
  const id = await db.transaction(async (tx) => {
    const [user] = await tx.select({ disabled: users.disabled }).from(users).where(eq(users.id, userId));
    if (!user) throw notFound('user', userId);
    if (user.disabled) throw new HubError(422, 'user_disabled', 'the user is disabled; enable them before giving them a token');
    const [row] = await tx.insert(apiTokens).values({ userId, name, tokenHash: sha256Hex(token) }).returning({ id: apiTokens.id });
    await recordAudit(tx, { actorUserId, action: 'api_token.create', targetType: 'api_token', targetId: row!.id, details: { userId, name } });
    return row!.id;
  });
  return { ...(await getApiToken(db, id)), token };
}

/** Revokes a token at once (the next request with it gets 401); revoking it again changes nothing. */
export async function revokeApiToken(db: Db, actorUserId: string, id: string) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
      .returning({ userId: apiTokens.userId, name: apiTokens.name });
    if (row) {
      await recordAudit(tx, { actorUserId, action: 'api_token.revoke', targetType: 'api_token', targetId: id, details: { userId: row.userId, name: row.name } });
    }
  });
  return getApiToken(db, id);
}
