import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import express, { type Request, type Response } from 'express';
import { storeAttachment } from '../../core/attachments/attachment-store.js';
import { stripUnsafeCharacters } from '../../core/validation.js';
import {
  checkMessageRate,
  checkOrigin,
  clientFrame,
  handleFrame,
  helloFrame,
  isWidgetError,
  loadWebchatChannel,
  openVisitor,
  parseFrame,
  visitorOwnsAttachment,
  welcomeFrame,
  widgetError,
  type Visitor,
  type WebchatChannel,
  type WidgetDeps,
  type WidgetError,
} from './visitor-session.js';

const statusFor: Record<WidgetError['code'], number> = {
  not_found: 404,
  channel_disabled: 403,
  origin_forbidden: 403,
  identity_rejected: 401,
  identity_required: 401,
  bad_frame: 400,
  rate_limited: 429,
  attachment_rejected: 415,
};

/** Bundles the widget from its sources once per process, so what is served always matches them. */
export function buildWidgetScript(): Promise<string> {
  return build({
    entryPoints: [fileURLToPath(new URL('./widget/widget.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'iife',
    // Browsers from 2020 on, the oldest still found on customers' phones.
    target: 'es2020',
    write: false,
    legalComments: 'none',
  }).then((result) => result.outputFiles[0]!.text);
}

/**
 * `/widget.js` and the widget's HTTP endpoints: file uploads and downloads, and the same frames
 * the socket takes, for browsers behind proxies that block WebSockets.
 */
export function createWidgetRouter(deps: WidgetDeps) {
  const script = buildWidgetScript();
  // Builds run once; a broken bundle must not become an unhandled rejection before a request.
  script.catch(() => undefined);
  const router = express.Router();

  router.get('/widget.js', async (_req, res) => {
    res.type('application/javascript').set('cache-control', 'public, max-age=300').send(await script);
  });

  const widget = express.Router({ mergeParams: true });
  widget.use(async (req, res, next) => {
    const channel = await loadWebchatChannel(deps, (req.params as { channelId: string }).channelId);
    if (isWidgetError(channel)) return void fail(res, channel);
    const forbidden = checkOrigin(channel, req.get('origin'));
    if (forbidden) return void fail(res, forbidden);
    const origin = req.get('origin');
    if (origin) res.set({ 'access-control-allow-origin': origin, vary: 'Origin' });
    if (req.method === 'OPTIONS') {
      res
        .set({ 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type, x-hub-hello, x-file-name', 'access-control-max-age': '600' })
        .status(204)
        .end();
      return;
    }
    res.locals.channel = channel;
    next();
  });

  widget.post('/frames', express.json({ limit: '1mb' }), async (req, res) => {
    const channel = res.locals.channel as WebchatChannel;
    if (Number(req.get('content-length') ?? 0) > channel.config.maxFrameBytes) {
      return void res.status(413).json({ error: `frames are limited to ${channel.config.maxFrameBytes} bytes`, code: 'too_large' });
    }
    // No body, or a JSON body that is not an object, reads as an empty one.
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as { hello?: unknown; frame?: unknown };
    const visitor = await visitorFrom(req, channel, body.hello);
    if (isWidgetError(visitor)) return void fail(res, visitor);
    const raw = body.frame;
    if (raw === undefined) return void res.json({ welcome: welcomeFrame(visitor), replies: [] });
    const frame = parseFrame(clientFrame, raw);
    if (isWidgetError(frame)) return void fail(res, frame);
    const replies = await handleFrame(deps, visitor, frame);
    const rejected = replies.find((r): r is { type: 'error'; code: WidgetError['code']; message: string } => (r as { type: string }).type === 'error');
    if (rejected) return void fail(res, widgetError(rejected.code, rejected.message));
    res.json({ welcome: welcomeFrame(visitor), replies });
  });

  widget.post('/attachments', async (req, res) => {
    const channel = res.locals.channel as WebchatChannel;
    const visitor = await visitorFrom(req, channel, helloHeader(req));
    if (isWidgetError(visitor)) return void fail(res, visitor);
    const contentType = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!channel.config.attachmentTypes.includes(contentType)) {
      return void fail(res, widgetError('attachment_rejected', `files of type ${contentType || 'unknown'} are not accepted here`));
    }
    const limit = channel.config.maxAttachmentBytes;
    if (Number(req.get('content-length') ?? 0) > limit) return void tooLarge(res, limit);
    const fileName = fileNameHeader(req);
    if (isWidgetError(fileName)) return void fail(res, fileName);
    const limited = await checkMessageRate(deps, visitor);
    if (limited) return void fail(res, limited);
    const data = await readBody(req, limit);
    if (!data) return void tooLarge(res, limit);
    if (!data.length) return void fail(res, widgetError('bad_frame', 'the file is empty'));
    res.status(201).json(await storeAttachment(deps.db, { data, contentType, fileName, channelId: channel.id }));
  });

  widget.get('/attachments/:attachmentId', async (req, res) => {
    const channel = res.locals.channel as WebchatChannel;
    const visitor = await visitorFrom(req, channel, helloHeader(req));
    if (isWidgetError(visitor)) return void fail(res, visitor);
    const id = (req.params as { attachmentId: string }).attachmentId;
    const file = /^[0-9a-f-]{36}$/i.test(id) ? await visitorOwnsAttachment(deps.db, visitor, id) : undefined;
    if (!file) return void fail(res, widgetError('not_found', 'no such file in this chat'));
    res.type(file.contentType).set({ 'x-content-type-options': 'nosniff', 'content-disposition': 'attachment' }).send(file.data);
  });

  router.use('/widget/v1/channels/:channelId', widget);
  return router;
}

function fail(res: Response, error: WidgetError) {
  res.status(statusFor[error.code]).json({ error: error.message, code: error.code });
}

function tooLarge(res: Response, limit: number) {
  res.status(413).json({ error: `files are limited to ${Math.floor(limit / 1024)} KB`, code: 'too_large' });
}

async function visitorFrom(req: Request, channel: WebchatChannel, raw: unknown): Promise<Visitor | WidgetError> {
  const hello = parseFrame(helloFrame, { ...(typeof raw === 'object' ? raw : {}), type: 'hello' });
  if (isWidgetError(hello)) return hello;
  return openVisitor(channel, hello, req.ip ?? 'unknown');
}

/** Uploads cannot carry the hello in a JSON body, so it rides URI-encoded in a header. */
function helloHeader(req: Request): unknown {
  try {
    return JSON.parse(decodeURIComponent(req.get('x-hub-hello') ?? '{}'));
  } catch {
    return {};
  }
}

/** The file's name rides URI-encoded in a header; a name that does not decode is the sender's error. */
function fileNameHeader(req: Request): string | null | WidgetError {
  try {
    return stripUnsafeCharacters(decodeURIComponent(req.get('x-file-name') ?? '')).slice(0, 200) || null;
  } catch {
    return widgetError('bad_frame', 'x-file-name is not valid percent-encoded UTF-8 (encode it with encodeURIComponent)');
  }
}

/** Reads the body, giving up (undefined) once it grows past `limit`. */
async function readBody(req: Request, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
