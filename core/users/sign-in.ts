import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { users } from '../db/schema.js';
import { HubError } from '../errors.js';
import { parseInput } from '../validation.js';
import { createSession, revokeUserSessions, type SessionPolicy } from './sessions.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import type { AuthenticatedUser } from './users.js';

export interface SignInDeps {
  db: Db;
  throttle: SignInThrottle;
  policy: SessionPolicy;
}

/** Not `z.email()`: a malformed address gets the same answer as a wrong one. */
export const signInInput = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});

export const newPassword = z.string().min(12, 'password must be at least 12 characters').max(1024);

export const changePasswordInput = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword,
});

const wrongCredentials = () => new HubError(401, 'wrong_credentials', 'wrong email or password');

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. Without a hash (no such user, or a user without a
 * password) it checks against a throwaway one, so the answer takes as long either way.
 */
async function passwordMatches(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hash(randomBytes(16).toString('hex'));
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}

/** Each failure past the second answers a little later, up to two seconds, until the lock. */
const slowDown = (accountFailures: number) =>
  accountFailures > 2 ? new Promise((resolve) => setTimeout(resolve, Math.min((accountFailures - 2) * 250, 2_000))) : Promise.resolve();

/**
 * Signs in with email and password and opens a session. Wrong email and wrong password get the
 * same 401; failures are throttled per account and per address; every outcome is audited
 * (except attempts refused while locked, which the access log shows as 429s).
 */
export async function signIn(deps: SignInDeps, input: unknown, client: { ip: string | null; userAgent: string | null }) {
  const { email: typed, password } = parseInput(signInInput, input);
  const email = typed.toLowerCase();
  await deps.throttle.check(email, client.ip);

  const [user] = await deps.db
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, disabled: users.disabled, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  const matches = await passwordMatches(user?.passwordHash, password);

  if (!matches) {
    const { accountFailures, locked } = await deps.throttle.fail(email, client.ip);
    await recordAudit(deps.db, {
      actorUserId: null,
      action: 'auth.sign_in_failed',
      targetType: 'user',
      targetId: user?.id ?? null,
      details: { email, ip: client.ip, reason: 'wrong_credentials', ...(locked ? { locked: true } : {}) },
    });
    if (locked) throw locked;
    await slowDown(accountFailures);
    throw wrongCredentials();
  }
  // Only someone who knows the password learns that the account is disabled.
  if (user!.disabled) {
    await recordAudit(deps.db, {
      actorUserId: null,
      action: 'auth.sign_in_failed',
      targetType: 'user',
      targetId: user!.id,
      details: { email, ip: client.ip, reason: 'disabled' },
    });
    throw new HubError(403, 'account_disabled', 'this account is disabled; ask an administrator');
  }

  await deps.throttle.clear(email);
  const session = await deps.db.transaction(async (tx) => {
    const opened = await createSession(tx, { userId: user!.id, ip: client.ip, userAgent: client.userAgent, policy: deps.policy });
    await tx.update(users).set({ lastSignInAt: sql`now()` }).where(eq(users.id, user!.id));
    await recordAudit(tx, {
      actorUserId: user!.id,
      action: 'auth.sign_in',
      targetType: 'user',
      targetId: user!.id,
      details: { ip: client.ip, sessionId: opened.id },
    });
    return opened;
  });
  return {
    user: { id: user!.id, email: user!.email, name: user!.name, role: user!.role },
    session,
  };
}

/**
 * Changes the caller's own password after checking the current one (wrong guesses count
 * towards the account's lock like failed sign-ins), and ends their other sessions.
 */
export async function changeOwnPassword(deps: Omit<SignInDeps, 'policy'>, caller: AuthenticatedUser, input: unknown, client: { ip: string | null }) {
  const { currentPassword, newPassword: password } = parseInput(changePasswordInput, input);
  await deps.throttle.check(caller.email, client.ip);
  const [user] = await deps.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, caller.id));
  if (!(await passwordMatches(user?.passwordHash, currentPassword))) {
    const { locked } = await deps.throttle.fail(caller.email, client.ip);
    if (locked) throw locked;
    throw new HubError(403, 'wrong_password', 'the current password is not right');
  }
  const passwordHash = await hash(password);
  return deps.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, caller.id));
    const revokedSessions = await revokeUserSessions(tx, caller.id, caller.session?.id);
    await recordAudit(tx, {
      actorUserId: caller.id,
      action: 'user.password_change',
      targetType: 'user',
      targetId: caller.id,
      details: { ip: client.ip, revokedSessions },
    });
    return { changed: true, otherSessionsRevoked: revokedSessions };
  });
}
