import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../server/api/routes.js';

describe('the route table', () => {
  it('declares an object-level rule for every route with a path parameter', () => {
    const missing = apiRoutes
      .filter((route) => route.path.includes(':'))
      .filter((route) => route.access === undefined || (typeof route.access === 'object' && route.access.none.trim().length < 10))
      .map((route) => `${route.method.toUpperCase()} ${route.path}`);
    expect(missing, 'routes with an id and no access rule (add `access` to the route)').toEqual([]);
  });

  it('guards every conversation, contact, message and attachment path by that object', () => {
    const expected: Array<[RegExp, string]> = [
      [/^\/conversations\/:id/, 'conversation'],
      [/^\/contacts\/:id/, 'contact'],
      [/^\/messages\/:id/, 'message'],
      [/^\/attachments\/:id/, 'attachment'],
    ];
    for (const route of apiRoutes) {
      const rule = expected.find(([pattern]) => pattern.test(route.path));
      if (rule) expect(route.access, `${route.method.toUpperCase()} ${route.path}`).toBe(rule[1]);
    }
  });
});
