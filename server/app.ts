import { readFileSync } from 'node:fs';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { apiInboundMessage, SIGNATURE_HEADER } from '../adapters/api/api.adapter.js';
import { assertObjectAccess } from '../core/access/conversation-access.js';
import { createWidgetRouter } from '../adapters/webchat/widget-http.js';
import { HubError } from '../core/errors.js';
import { runInRequestContext } from '../core/request-context.js';
import { TooManyAttempts } from '../core/users/sign-in-throttle.js';
import type { AuthenticatedUser } from '../core/users/users.js';
import { describeZodError } from '../core/validation.js';
import { accessLog } from './access-log.js';
import { buildOpenApi } from './api/openapi.js';
import { mountConsole } from './console.js';
import { FileReply, type ApiRoute } from './api/route.js';
import { apiRoutes } from './api/routes.js';
import { createAppApi } from './app-api.js';
import { identifyCaller, requireCaller, requireCsrfProof } from './console-session.js';
import type { Runtime } from './runtime.js';
import { widgetDeps } from './webchat.js';
import { mountEmailUnsubscribe } from './email-unsubscribe.js';
import { rejectUnsafeInput } from './input-guard.js';
import { limitPerAddress } from './rate-limit.js';
import { handleWebhook } from './webhooks.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function createApp(runtime: Runtime) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Health probes run every few seconds; logging them drowns everything else.
  app.use(accessLog(runtime.logger, (path) => path === '/healthz' || path === '/readyz'));
  // What a use case may need to know of the request it serves (the audit log records the address).
  app.use((req, _res, next) => runInRequestContext({ ip: req.ip }, next));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
        return 'ok';
      } catch (error) {
        return `down: ${(error as Error).message}`;
      }
    };
    const [database, redis] = await Promise.all([check(() => runtime.database.ping()), check(() => runtime.redis.ping())]);
    const ready = database === 'ok' && redis === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', database, redis });
  });

  app.all(
    '/webhooks/:type/:channelId{/*subpath}',
    express.raw({ type: () => true, limit: runtime.config.BODY_LIMIT_BYTES }),
    (req, res) => handleWebhook(runtime, req, res),
  );

  // Public entry points, reached without signing in, are limited per client address; provider
  // webhooks are not (a provider retries, and its addresses are shared by every account).
  app.use('/email/unsubscribe', limitPerAddress(runtime, 'unsubscribe'));
  app.use('/api/app', limitPerAddress(runtime, 'app'));
  app.use('/widget', limitPerAddress(runtime, 'widget'));
  app.use('/widget.js', limitPerAddress(runtime, 'widget'));

  mountEmailUnsubscribe(app, runtime);

  const openApi = buildOpenApi(apiRoutes, pkg.version, {
    '/webhooks/api/{channelId}': {
      post: {
        summary: 'Inbound message from a bank system on an API channel',
        tags: ['webhooks'],
        security: [],
        description: `Signed with \`${SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body with the channel secret>\`. The same messageId is stored once.`,
        parameters: [{ name: 'channelId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(apiInboundMessage, { io: 'input' }) } } },
        responses: {
          200: { description: 'stored (or already stored): `{ accepted: true, messageId }`' },
          400: { description: 'malformed body' },
          401: { description: 'missing signature' },
          403: { description: 'signature does not match' },
        },
      },
    },
    '/webhooks/email/{channelId}': {
      post: {
        summary: 'Inbound mail as raw MIME on an email channel',
        tags: ['webhooks'],
        security: [],
        description: 'Authenticated with `Authorization: Bearer <the channel webhookSecret>`. The same mail (Message-ID and body) is stored once.',
        parameters: [{ name: 'channelId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'message/rfc822': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          202: { description: 'stored (or already stored)' },
          401: { description: 'missing Authorization header' },
          403: { description: 'wrong channel secret' },
          415: { description: 'the body is not message/rfc822' },
        },
      },
    },
  });
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  const api = express.Router();
  api.use(express.json({ limit: runtime.config.BODY_LIMIT_BYTES }), rejectUnsafeInput);
  api.use(identifyCaller(runtime));
  for (const route of apiRoutes) mountRoute(api, route, runtime);
  api.use((req, res) => {
    // Only callers learn which paths exist.
    requireCaller(req, res);
    throw new HubError(404, 'not_found', `no API endpoint ${req.method} ${req.baseUrl}${req.path}`);
  });
  app.use('/api/v1', api);
  app.use('/api/app/v1', createAppApi(runtime));

  app.use(createWidgetRouter(widgetDeps(runtime)));

  mountConsole(app);

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: `nothing at ${req.method} ${req.path}`, code: 'not_found' });
  });
  app.use(errorHandler(runtime));
  return app;
}

function mountRoute(router: express.Router, route: ApiRoute, runtime: Runtime) {
  router[route.method](route.path, async (req: Request, res: Response) => {
    // A public route (sign-in) gets the caller if there is one; the handler's type says so.
    const user = route.public ? (req.user as AuthenticatedUser) : requireCaller(req, res);
    if (!route.public) {
      requireCsrfProof(req, user, runtime.config);
      if (!route.roles.includes(user.role)) {
        throw new HubError(403, 'forbidden', `role ${user.role} may not ${route.method.toUpperCase()} ${route.path}`);
      }
    }
    for (const [name, value] of Object.entries(req.params)) {
      if (name === 'id' && !z.uuid().safeParse(value).success) throw new HubError(404, 'not_found', `no ${route.tag} with id ${value}`);
    }
    if (typeof route.access === 'string') await assertObjectAccess(runtime.database.db, user, route.access, req.params.id as string);
    const body = route.body ? parse(route.body, req.body ?? {}, 'request body') : undefined;
    const query = route.query ? parse(route.query, req.query, 'query') : undefined;
    const result = await route.handle({ runtime, user, params: req.params as Record<string, string>, body, query, req, res });
    if (result instanceof FileReply) {
      // Always a download, never rendered: a customer's file must not run as a page of the hub.
      res
        .status(200)
        .type(result.contentType)
        .set('x-content-type-options', 'nosniff')
        .attachment(result.fileName ?? 'attachment')
        .send(result.data);
      return;
    }
    res.status(route.responds.status).json(result);
  });
}

function parse(schema: z.ZodType, value: unknown, what: string) {
  const result = schema.safeParse(value);
  if (!result.success) throw new HubError(400, 'bad_request', `invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}

function errorHandler(runtime: Runtime) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HubError) {
      if (error instanceof TooManyAttempts) res.set('retry-after', String(error.retryAfterSeconds));
      res.status(error.status).json({ error: error.message, code: error.code, ...(error.details ? { details: error.details } : {}) });
      return;
    }
    // body-parser's errors carry the status they mean (413 too large, 400 bad JSON).
    const status = (error as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = (error as { type?: string }).type === 'entity.parse.failed' ? 'body is not valid JSON' : (error as Error).message;
      res.status(status).json({ error: message, code: status === 413 ? 'too_large' : 'bad_request' });
      return;
    }
    if (isDatabaseUnavailable(error)) {
      // Not the request's fault and not a defect: the caller (a provider's retry too) tries again.
      runtime.logger.warn({ err: error, method: req.method, path: req.path }, 'database unavailable');
      res.status(503).set('retry-after', '5').json({ error: 'the database is not available right now; try again shortly', code: 'unavailable' });
      return;
    }
    runtime.logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res.status(500).json({ error: 'internal error; the request was logged', code: 'internal' });
  };
}

/**
 * PostgreSQL refusing or dropping connections (too many clients, shutting down, starting up) or
 * not answering at all; drizzle wraps the driver's error as the cause.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (['53300', '53400', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'].includes(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'].includes(code)) return true;
  }
  return false;
}
