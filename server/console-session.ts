import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../core/config.js';
import { HubError } from '../core/errors.js';
import { constantTimeEqual } from '../core/security/signatures.js';
import { authenticateSession, sessionPolicy } from '../core/users/sessions.js';
import { authenticateToken, type AuthenticatedUser } from '../core/users/users.js';
import type { Runtime } from './runtime.js';

/** The console's session cookie: httpOnly, SameSite=Lax, Secure over HTTPS, for the whole hub. */
export const SESSION_COOKIE = 'hub_session';
/** The header a cookie-authenticated change must carry, with the session's CSRF token. */
export const CSRF_HEADER = 'X-CSRF-Token';

declare module 'express-serve-static-core' {
  interface Request {
    user?: AuthenticatedUser;
    /** Why credentials the request carried were refused; answered only where a caller is required. */
    authFailure?: { error: HubError; fromCookie: boolean };
  }
}

export function readSessionCookie(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === SESSION_COOKIE) {
      const value = part.slice(separator + 1).trim();
      return value || undefined;
    }
  }
  return undefined;
}

const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'lax' as const, secure: req.secure, path: '/' });

/**
 * A browser-session cookie (no expiry date): closing the browser forgets it, and the server ends
 * the session after idleness or its lifetime anyway.
 */
export function setSessionCookie(req: Request, res: Response, token: string): void {
  res.cookie(SESSION_COOKIE, token, cookieOptions(req));
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}

/**
 * Finds the caller: an `Authorization: Bearer` token when the header is there (it wins), else the
 * session cookie. Refused credentials do not end the request here: public endpoints (sign-in)
 * still answer, and the others answer with the reason.
 */
export function identifyCaller(runtime: Runtime): RequestHandler {
  const policy = sessionPolicy(runtime.config);
  return async (req, _res, next) => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) {
        req.authFailure = { error: new HubError(401, 'unauthorized', 'send Authorization: Bearer <token> (create one with `hub token create`)'), fromCookie: false };
        return next();
      }
      try {
        req.user = await authenticateToken(runtime.database.db, match[1]!);
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        req.authFailure = { error, fromCookie: false };
      }
      return next();
    }
    const token = readSessionCookie(req);
    if (token) {
      try {
        req.user = await authenticateSession(runtime.database.db, token, policy);
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        req.authFailure = { error, fromCookie: true };
      }
    }
    next();
  };
}

/** The caller, or the 401 that says why there is none (clearing a dead session cookie). */
export function requireCaller(req: Request, res: Response): AuthenticatedUser {
  if (req.user) return req.user;
  if (req.authFailure?.fromCookie) clearSessionCookie(req, res);
  throw (
    req.authFailure?.error ??
    new HubError(401, 'unauthorized', 'sign in to the console, or send Authorization: Bearer <token> (create one with `hub token create`)')
  );
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a request from a page of another site. When the browser says where the request comes
 * from (Origin), it must be the hub itself: the address this request reached it at, or
 * PUBLIC_BASE_URL.
 */
export function requireOwnOrigin(req: Request, config: Pick<Config, 'PUBLIC_BASE_URL'>): void {
  const origin = req.get('origin');
  if (origin === undefined) return;
  const originOf = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return undefined;
    }
  };
  const own = originOf(`${req.protocol}://${req.host}`);
  const allowed = [own, config.PUBLIC_BASE_URL ? originOf(config.PUBLIC_BASE_URL) : undefined];
  const given = originOf(origin);
  if (!given || given === 'null' || !allowed.includes(given)) {
    throw new HubError(403, 'cross_origin', `requests from ${origin.slice(0, 200)} are refused: open the console at ${own} itself`);
  }
}

/**
 * A change made with the session cookie must come from the hub's own page: the browser sends the
 * cookie with any request to the hub, but only the console can read the CSRF token and put it in
 * a header (double submit), and a browser names the page's origin.
 */
export function requireCsrfProof(req: Request, user: AuthenticatedUser, config: Pick<Config, 'PUBLIC_BASE_URL'>): void {
  if (!user.session || safeMethods.has(req.method)) return;
  requireOwnOrigin(req, config);
  const given = req.get(CSRF_HEADER);
  if (!given || !constantTimeEqual(given, user.session.csrfToken)) {
    throw new HubError(
      403,
      'csrf_token',
      `${given ? 'wrong' : 'missing'} ${CSRF_HEADER} header: a change made with the session cookie must send the csrfToken from sign-in or GET /api/v1/auth/me`,
    );
  }
}
