import { hash } from '@node-rs/argon2';
import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { userRoles, users } from '../db/schema.js';
import { HubError, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { revokeUserSessions } from './sessions.js';
import { newPassword } from './sign-in.js';
import type { SignInThrottle } from './sign-in-throttle.js';

/** What the API shows of a user: never the password hash. */
const userColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  disabled: users.disabled,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  lastSignInAt: users.lastSignInAt,
};

export const updateUserInput = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    role: z.enum(userRoles).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((v) => v.name !== undefined || v.role !== undefined || v.disabled !== undefined, 'give at least one of name, role, disabled');

export const setPasswordInput = z.object({ password: newPassword });

export async function listUsers(db: Db) {
  return db.select(userColumns).from(users).orderBy(asc(users.email));
}

export async function getUser(db: Db, id: string) {
  const [row] = await db.select(userColumns).from(users).where(eq(users.id, id));
  if (!row) throw notFound('user', id);
  return row;
}

/**
 * Renames, changes the role of, disables or enables a user. A new role or disabling ends the
 * user's sessions, so the change holds at once in every open console. Admins cannot demote or
 * disable themselves: the hub must not lose its last way in by mistake.
 */
export async function updateUser(db: Db, actorUserId: string, id: string, input: unknown) {
  const changes = parseInput(updateUserInput, input);
  await db.transaction(async (tx) => {
    const [current] = await tx.select({ role: users.role, disabled: users.disabled, name: users.name }).from(users).where(eq(users.id, id)).for('update');
    if (!current) throw notFound('user', id);
    const roleChanged = changes.role !== undefined && changes.role !== current.role;
    const disabling = changes.disabled === true && !current.disabled;
    const enabling = changes.disabled === false && current.disabled;
    if (id === actorUserId && (roleChanged || disabling)) {
      throw new HubError(409, 'own_account', 'you cannot change your own role or disable yourself; ask another admin');
    }
    await tx
      .update(users)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(users.id, id));
    const revokedSessions = roleChanged || disabling ? await revokeUserSessions(tx, id) : 0;
    const audit = (action: string, details: Record<string, unknown>) => recordAudit(tx, { actorUserId, action, targetType: 'user', targetId: id, details });
    if (changes.name !== undefined && changes.name !== current.name) await audit('user.update', { name: changes.name });
    if (roleChanged) await audit('user.role_change', { from: current.role, to: changes.role, revokedSessions });
    if (disabling) await audit('user.disable', { revokedSessions });
    if (enabling) await audit('user.enable', {});
  });
  return getUser(db, id);
}

/** An admin sets a user's password: the user's sessions end and a sign-in lock on the account is lifted. */
export async function setUserPassword(deps: { db: Db; throttle: SignInThrottle }, actorUserId: string, id: string, input: unknown) {
  const { password } = parseInput(setPasswordInput, input);
  const passwordHash = await hash(password);
  const user = await deps.db.transaction(async (tx) => {
    const [row] = await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, id)).returning({ email: users.email });
    if (!row) throw notFound('user', id);
    const revokedSessions = await revokeUserSessions(tx, id);
    await recordAudit(tx, { actorUserId, action: 'user.password_set', targetType: 'user', targetId: id, details: { revokedSessions } });
    return row;
  });
  await deps.throttle.clear(user.email);
  return getUser(deps.db, id);
}
