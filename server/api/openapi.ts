import { z } from 'zod';
import type { ApiRoute } from './route.js';

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

/** Builds the OpenAPI 3.1 document from the route table the API itself runs on. */
export function buildOpenApi(routes: ApiRoute[], version: string, webhookPaths: Record<string, Record<string, unknown>>) {
  const paths: Record<string, Record<string, unknown>> = { ...webhookPaths };
  for (const route of routes) {
    const pathParams = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: m[1] === 'id' || m[1]!.endsWith('Id') ? { type: 'string', format: 'uuid' } : { type: 'string' },
    }));
    const queryParams = route.query
      ? Object.entries((z.toJSONSchema(route.query, { io: 'input' }) as { properties?: Record<string, unknown> }).properties ?? {}).map(
          ([name, schema]) => ({ name, in: 'query', required: false, schema }),
        )
      : [];
    const headerParams = Object.entries(route.headers ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    }));
    paths[`/api/v1${toOpenApiPath(route.path)}`] ??= {};
    paths[`/api/v1${toOpenApiPath(route.path)}`]![route.method] = {
      summary: route.summary,
      tags: [route.tag],
      ...(route.public
        ? { description: 'No sign-in needed.', security: [] }
        : { description: `Roles: ${route.roles.join(', ')}.` }),
      parameters: [...pathParams, ...queryParams, ...headerParams],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: z.toJSONSchema(route.body, { io: 'input' }) } },
            },
          }
        : {}),
      responses: {
        [route.responds.status]: { description: route.responds.description },
        400: { description: 'invalid request: `{ error, code }` says what is wrong' },
        401: { description: 'not signed in: missing, invalid or revoked bearer token, or an ended session' },
        403: { description: 'the caller’s role may not do this, or a change made with the session cookie lacks X-CSRF-Token or comes from another origin' },
        404: { description: 'not found' },
        ...Object.fromEntries(Object.entries(route.fails ?? {}).map(([status, description]) => [status, { description }])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hub API',
      version,
      description:
        'REST API of the hub. Authenticate with `Authorization: Bearer <token>` (create one with `hub token create` or POST /api-tokens), or with the console’s session cookie `hub_session` from POST /auth/login; a bearer token wins when both are sent. A change (any method but GET, HEAD, OPTIONS) made with the cookie must send `X-CSRF-Token: <csrfToken from sign-in or GET /auth/me>`, and when the request has an Origin header it must be the hub’s own. Provider webhooks live under /webhooks/{type}/{channelId} and are authenticated by each provider’s signature.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'hub_session' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
