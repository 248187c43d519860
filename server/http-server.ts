import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWidgetSocket } from '../adapters/webchat/widget-socket.js';
import { channelLiveTopic } from '../workflows/channel-store.js';
import { createAgentSocket } from './agent-socket.js';
import { createApp } from './app.js';
import type { Runtime } from './runtime.js';
import { widgetDeps } from './webchat.js';

/**
 * Handles a WebSocket upgrade for one path (the agent console's socket, the widget's socket).
 * `close` ends its open sockets when the server closes.
 */
export type UpgradeHandler = ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) & { close?(): void };

/** Each WebSocket endpoint of the hub, by path; a socket feature adds its line here. */
function upgradeHandlers(runtime: Runtime): Record<string, UpgradeHandler> {
  const widget = createWidgetSocket({
    ...widgetDeps(runtime),
    logger: runtime.logger,
    liveTopicPattern: channelLiveTopic(runtime.config.REDIS_PREFIX, '*'),
    pingIntervalMs: runtime.config.SOCKET_PING_INTERVAL_MS,
  });
  return {
    '/widget/socket': Object.assign((req: IncomingMessage, socket: Duplex, head: Buffer) => widget.handleUpgrade(req, socket, head), {
      close: () => void widget.close(),
    }),
    '/ws/agent': createAgentSocket(runtime),
  };
}

/**
 * The hub's HTTP server: the express app for requests, and WebSocket upgrades dispatched by path.
 * Returns once it listens.
 */
export async function startHttpServer(runtime: Runtime, listenOn: { port: number; host: string }): Promise<Server> {
  const upgrades = upgradeHandlers(runtime);
  const server = createServer(createApp(runtime));
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    const handler = upgrades[path];
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    handler(req, socket, head);
  });
  // Upgraded sockets keep a server open forever: end them when the server is asked to close.
  const closeServer = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    for (const handler of Object.values(upgrades)) handler.close?.();
    return closeServer(callback);
  }) as Server['close'];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOn.port, listenOn.host, () => resolve());
  });
  return server;
}
