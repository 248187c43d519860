import { recordAudit } from '../../core/audit.js';
import { revokeSession, sessionPolicy } from '../../core/users/sessions.js';
import { changeOwnPassword, changePasswordInput, signIn, signInInput } from '../../core/users/sign-in.js';
import { createSignInThrottle } from '../../core/users/sign-in-throttle.js';
import type { AuthenticatedUser } from '../../core/users/users.js';
import { clearSessionCookie, CSRF_HEADER, requireOwnOrigin, SESSION_COOKIE, setSessionCookie } from '../console-session.js';
import type { Runtime } from '../runtime.js';
import { allRoles, definePublicRoute, defineRoute, type ApiRoute } from './route.js';

export const signInThrottle = (runtime: Runtime) => createSignInThrottle(runtime.redis, runtime.config.REDIS_PREFIX);

const sessionAnswer = (user: Pick<AuthenticatedUser, 'id' | 'email' | 'name' | 'role'>, csrfToken: string | null) => ({
  user: { id: user.id, email: user.email, name: user.name, role: user.role },
  csrfToken,
});

export const authRoutes: ApiRoute[] = [
  definePublicRoute({
    method: 'post',
    path: '/auth/login',
    summary: `Sign in to the console with email and password: sets the session cookie \`${SESSION_COOKIE}\` (httpOnly, SameSite=Lax, Secure over HTTPS). Changes made with the cookie must send \`${CSRF_HEADER}\` with the csrfToken answered here.`,
    tag: 'auth',
    body: signInInput,
    responds: { status: 200, description: '{ user: { id, email, name, role }, csrfToken }' },
    fails: {
      401: 'wrong email or password (the same answer for both)',
      403: 'the account is disabled, or the request comes from another site (Origin)',
      429: 'too many failed attempts for this account or from this address: `Retry-After` says when to try again',
    },
    handle: async ({ runtime, req, res, body, user }) => {
      // Without a session yet there is no CSRF token to check; a page of another site is still refused.
      requireOwnOrigin(req, runtime.config);
      const signedIn = await signIn(
        { db: runtime.database.db, throttle: signInThrottle(runtime), policy: sessionPolicy(runtime.config) },
        body,
        { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null },
      );
      // Signing in again in the same browser replaces its session.
      if (user?.session) await revokeSession(runtime.database.db, user.session.id);
      setSessionCookie(req, res, signedIn.session.token);
      return sessionAnswer(signedIn.user, signedIn.session.csrfToken);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/logout',
    summary: 'Sign out: ends the current console session and clears its cookie',
    tag: 'auth',
    roles: allRoles,
    responds: { status: 200, description: '{ signedOut: boolean } (false for a bearer-token caller, who has no session)' },
    handle: async ({ runtime, user, req, res }) => {
      clearSessionCookie(req, res);
      if (!user.session) return { signedOut: false };
      await runtime.database.db.transaction(async (tx) => {
        if (await revokeSession(tx, user.session!.id)) {
          await recordAudit(tx, { actorUserId: user.id, action: 'auth.sign_out', targetType: 'user', targetId: user.id, details: { ip: req.ip ?? null, sessionId: user.session!.id } });
        }
      });
      return { signedOut: true };
    },
  }),
  definePublicRoute({
    method: 'get',
    path: '/auth/session',
    summary: 'Whether this browser is signed in: the session answer, or `{ user: null }` (200 either way, so a sign-in page asks without an error)',
    tag: 'auth',
    responds: { status: 200, description: '{ user: { id, email, name, role } | null, csrfToken }' },
    handle: async ({ user }) => (user ? sessionAnswer(user, user.session?.csrfToken ?? null) : { user: null, csrfToken: null }),
  }),
  defineRoute({
    method: 'get',
    path: '/auth/me',
    summary: 'Who is calling: the signed-in user and the session’s CSRF token (null for a bearer token)',
    tag: 'auth',
    roles: allRoles,
    responds: { status: 200, description: '{ user: { id, email, name, role }, csrfToken }' },
    handle: async ({ user }) => sessionAnswer(user, user.session?.csrfToken ?? null),
  }),
  defineRoute({
    method: 'post',
    path: '/auth/password',
    summary: "Change your own password (at least 12 characters); your other sessions end, this one stays",
    tag: 'auth',
    roles: allRoles,
    body: changePasswordInput,
    responds: { status: 200, description: '{ changed: true, otherSessionsRevoked }' },
    fails: {
      403: 'the current password is not right',
      429: 'too many wrong passwords for this account: `Retry-After` says when to try again',
    },
    handle: ({ runtime, user, body, req }) =>
      changeOwnPassword({ db: runtime.database.db, throttle: signInThrottle(runtime) }, user, body, { ip: req.ip ?? null }),
  }),
];
