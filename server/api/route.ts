import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ObjectAccess } from '../../core/access/conversation-access.js';
import type { UserRole } from '../../core/db/schema.js';
import type { AuthenticatedUser } from '../../core/users/users.js';
import type { Runtime } from '../runtime.js';

export interface RouteContext<Body, Query> {
  runtime: Runtime;
  user: AuthenticatedUser;
  params: Record<string, string>;
  body: Body;
  query: Query;
  req: Request;
  /** For the few endpoints that set headers or cookies (sign-in); others just return their answer. */
  res: Response;
}

/** A public endpoint's context: the caller may not be signed in. */
export type PublicRouteContext<Body, Query> = Omit<RouteContext<Body, Query>, 'user'> & { user: AuthenticatedUser | undefined };

/**
 * One REST endpoint: its schemas validate the request and also describe it in
 * /api/openapi.json, so the documentation cannot drift from what the handler accepts.
 */
export interface ApiRoute<Body = unknown, Query = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path under /api/v1, e.g. `/channels/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed to call it. */
  roles: readonly UserRole[];
  /**
   * Need to know for the object the path's `:id` names: the app checks the caller may see that
   * conversation, contact, message or attachment before the handler runs. A route with a path
   * parameter that needs no such check says why (`{ none: reason }`); test/route-access.test.ts
   * fails on a route with a parameter and neither.
   */
  access?: ObjectAccess | { none: string };
  /** Callable without signing in (sign-in itself); `roles` is then empty. */
  public?: boolean;
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  /** Header names the endpoint reads, for the documentation. */
  headers?: Record<string, string>;
  /** The success status and what the response holds. */
  responds: { status: number; description: string };
  /** Answers particular to this endpoint, by status, for the documentation. */
  fails?: Record<number, string>;
  handle(ctx: RouteContext<Body, Query>): Promise<unknown>;
}

/** Keeps each route's body and query types tied to its schemas. */
export function defineRoute<Body = undefined, Query = undefined>(route: ApiRoute<Body, Query>): ApiRoute {
  return route as ApiRoute;
}

/** An endpoint anyone may call, signed in or not: only sign-in itself. */
export function definePublicRoute<Body = undefined, Query = undefined>(
  route: Omit<ApiRoute<Body, Query>, 'roles' | 'public' | 'handle'> & { handle(ctx: PublicRouteContext<Body, Query>): Promise<unknown> },
): ApiRoute {
  return { ...route, roles: [], public: true } as unknown as ApiRoute;
}

export const allRoles: readonly UserRole[] = ['admin', 'supervisor', 'agent', 'marketer'];
export const staffRoles: readonly UserRole[] = ['admin', 'supervisor', 'agent'];

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const idParam = z.uuid();

/** A handler's answer that is a file, not JSON (attachment downloads). */
export class FileReply {
  constructor(
    readonly data: Buffer,
    readonly contentType: string,
    readonly fileName: string | null,
  ) {}
}
