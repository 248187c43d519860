import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { DomainEvent } from '../../core/events.js';
import { startHeartbeat } from '../../core/socket-heartbeat.js';
import type { LiveDelivery } from './webchat.adapter.js';
import {
  checkOrigin,
  clientFrame,
  handleFrame,
  helloFrame,
  isWidgetError,
  loadVisitorMessage,
  loadWebchatChannel,
  openVisitor,
  parseFrame,
  welcomeFrame,
  type Visitor,
  type WidgetDeps,
  type WidgetError,
} from './visitor-session.js';

/** Close codes the widget understands; 4000 + the HTTP status they correspond to. */
export const closeCodes = {
  badRequest: 4400,
  identity: 4401,
  forbidden: 4403,
  notFound: 4404,
  tooLarge: 1009,
} as const;

const closeCodeFor: Record<WidgetError['code'], number> = {
  not_found: closeCodes.notFound,
  channel_disabled: closeCodes.forbidden,
  origin_forbidden: closeCodes.forbidden,
  identity_rejected: closeCodes.identity,
  identity_required: closeCodes.identity,
  bad_frame: closeCodes.badRequest,
  rate_limited: closeCodes.badRequest,
  attachment_rejected: closeCodes.badRequest,
};

// The hard ceiling ws enforces before buffering a frame; each channel's own cap is lower.
const hardFrameLimit = 1024 * 1024;
const helloTimeoutMs = 10_000;

/**
 * The widget's WebSocket endpoint. A visitor's first frame is `hello`; after the welcome, each
 * frame gets its reply frames, and replies that `send` announces through Redis reach the socket
 * of that visitor on whichever hub process holds it.
 */
export function createWidgetSocket(deps: WidgetDeps & { logger: Logger; liveTopicPattern: string; pingIntervalMs: number }) {
  const server = new WebSocketServer({ noServer: true, maxPayload: hardFrameLimit });
  // A dropped socket is then noticed and closed; the widget reconnects as after any close.
  const stopHeartbeat = startHeartbeat(server, deps.pingIntervalMs);
  const byVisitor = new Map<string, Set<WebSocket>>();
  const channelsServed = new Set<string>();
  const subscriber = deps.redis.duplicate();
  subscriber.on('error', (error) => deps.logger.warn({ error: error.message }, 'widget live subscription error'));
  const subscribed = Promise.all([subscriber.psubscribe(deps.liveTopicPattern), subscriber.subscribe(deps.eventsTopic)]);
  // Replies come from `send`; the visitor's own messages, once stored, come as domain events, so
  // every tab of the visitor shows them and the widget's "sent" turns into the stored copy.
  subscriber.on('pmessage', (_pattern, _topic, raw) => {
    const delivery = parseJson(raw) as LiveDelivery | undefined;
    if (!delivery) return;
    if ('messageId' in delivery) void push(delivery.messageId);
    else sendToVisitor(delivery.visitor, { type: 'typing', agentName: delivery.typing });
  });
  subscriber.on('message', (_topic, raw) => {
    const event = parseJson(raw) as DomainEvent | undefined;
    if (event?.type === 'message.created' && event.direction === 'inbound' && channelsServed.has(event.channelId)) void push(event.messageId);
  });

  async function push(messageId: string) {
    try {
      const found = await loadVisitorMessage(deps.db, messageId);
      if (found) sendToVisitor(found.visitor, { type: 'message', message: found.message });
    } catch (error) {
      deps.logger.warn({ error: (error as Error).message }, 'could not push a message to a widget');
    }
  }

  function sendToVisitor(key: string, frame: object) {
    const data = JSON.stringify(frame);
    for (const socket of byVisitor.get(key) ?? []) socket.send(data);
  }

  function refuse(socket: WebSocket, error: WidgetError) {
    // A close reason is limited to 123 bytes.
    socket.close(closeCodeFor[error.code], Buffer.from(error.message).subarray(0, 123).toString());
  }

  async function greet(socket: WebSocket, req: IncomingMessage, raw: RawData): Promise<Visitor | undefined> {
    const channelId = new URL(req.url ?? '/', 'http://hub').searchParams.get('channel') ?? '';
    const channel = await loadWebchatChannel(deps, channelId);
    if (isWidgetError(channel)) return void refuse(socket, channel);
    const forbidden = checkOrigin(channel, req.headers.origin);
    if (forbidden) return void refuse(socket, forbidden);
    if (rawSize(raw) > channel.config.maxFrameBytes) return void socket.close(closeCodes.tooLarge, `frames are limited to ${channel.config.maxFrameBytes} bytes`);
    const hello = parseFrame(helloFrame, parseJson(raw));
    if (isWidgetError(hello)) return void refuse(socket, hello);
    const visitor = await openVisitor(channel, hello, req.socket.remoteAddress ?? 'unknown');
    if (isWidgetError(visitor)) return void refuse(socket, visitor);
    socket.send(JSON.stringify(welcomeFrame(visitor)));
    return visitor;
  }

  function serve(socket: WebSocket, req: IncomingMessage) {
    let visitor: Visitor | undefined;
    let greeted = false;
    const helloTimer = setTimeout(() => refuse(socket, { error: true, code: 'bad_frame', message: 'no hello frame' }), helloTimeoutMs);
    // Frames are handled in order, so an ack never overtakes the frame before it.
    let queue: Promise<unknown> = Promise.resolve();
    socket.on('message', (raw) => {
      queue = queue.then(async () => {
        try {
          if (!visitor) {
            // After a refused hello the socket is closing: later frames are not looked at.
            if (greeted) return;
            greeted = true;
            visitor = await greet(socket, req, raw);
            clearTimeout(helloTimer);
            if (visitor) {
              register(visitor.key, socket);
              channelsServed.add(visitor.channel.id);
            }
            return;
          }
          if (rawSize(raw) > visitor.channel.config.maxFrameBytes) {
            socket.close(closeCodes.tooLarge, `frames are limited to ${visitor.channel.config.maxFrameBytes} bytes`);
            return;
          }
          const frame = parseFrame(clientFrame, parseJson(raw));
          const replies = isWidgetError(frame) ? [{ type: 'error', code: frame.code, message: frame.message }] : await handleFrame(deps, visitor, frame);
          for (const reply of replies) socket.send(JSON.stringify(reply));
        } catch (error) {
          deps.logger.error({ err: error }, 'widget frame failed');
          socket.close(1011, 'the hub could not handle this message; it will be resent');
        }
      });
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      if (visitor) unregister(visitor.key, socket);
    });
    socket.on('error', () => socket.terminate());
  }

  function register(key: string, socket: WebSocket) {
    const set = byVisitor.get(key) ?? new Set();
    set.add(socket);
    byVisitor.set(key, set);
  }
  function unregister(key: string, socket: WebSocket) {
    const set = byVisitor.get(key);
    set?.delete(socket);
    if (set && !set.size) byVisitor.delete(key);
  }

  return {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      server.handleUpgrade(req, socket, head, (ws) => serve(ws, req));
    },
    /** Resolves once replies announced from now on reach this process's sockets. */
    ready: subscribed,
    async close() {
      stopHeartbeat();
      for (const client of server.clients) client.terminate();
      server.close();
      subscriber.disconnect();
    },
  };
}
export type WidgetSocket = ReturnType<typeof createWidgetSocket>;

function rawSize(raw: RawData): number {
  return Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : raw instanceof ArrayBuffer ? raw.byteLength : raw.length;
}

function parseJson(raw: RawData | string): unknown {
  try {
    return JSON.parse(raw.toString());
  } catch {
    return undefined;
  }
}
