import { auditListQuery, listAudit, verifyAuditChain } from '../../core/audit.js';
import { defineRoute, type ApiRoute } from './route.js';

/**
 * The audit log, read-only: there is no route that changes or removes an entry, and the database
 * refuses UPDATE and DELETE on it.
 */
export const auditRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/audit',
    summary:
      'List audit entries, newest first: admin and agent actions (sign-ins, channel, user, token, routing and bot changes, merges, transfers) with actor, time, client address and details. Filters: actorId, action (a prefix such as `channel.`), targetType, targetId, from and to (ISO 8601).',
    tag: 'audit',
    roles: ['admin'],
    query: auditListQuery,
    responds: { status: 200, description: '{ items: [{ id, seq, at, actor: { id, email, name } | null, action, targetType, targetId, ip, details, hash }], nextCursor }' },
    handle: ({ runtime, query }) => listAudit(runtime.database.db, query),
  }),
  defineRoute({
    method: 'get',
    path: '/audit/verify',
    summary:
      "Walk the audit log's hash chain from the first entry and report the first broken link: an entry changed after it was written, or entries missing",
    tag: 'audit',
    roles: ['admin'],
    responds: { status: 200, description: '{ ok: true, checked, head: { seq, hash } } or { ok: false, checked, brokenAt: { seq, id, reason } }' },
    handle: ({ runtime }) => verifyAuditChain(runtime.database.db),
  }),
];
