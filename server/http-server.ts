import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWidgetSocket } from '../adapters/webchat/widget-socket.js';
import { channelLiveTopic } from '../workflows/channel-store.js';
import { eventsChannel } from '../workflows/events.js';
import { createApp } from './app.js';
import type { Runtime } from './runtime.js';
import { widgetDeps } from './webchat.js';

/** Handles a WebSocket upgrade for one path (the agent console's socket, the widget's socket). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Each WebSocket endpoint of the hub, by path; a socket feature adds its line here. */
function upgradeHandlers(runtime: Runtime, server: Server): Record<string, UpgradeHandler> {
  const widget = createWidgetSocket({
    ...widgetDeps(runtime),
    logger: runtime.logger,
    liveTopicPattern: channelLiveTopic(runtime.config.REDIS_PREFIX, '*'),
    eventsTopic: eventsChannel(runtime.config.REDIS_PREFIX),
  });
  server.on('close', () => void widget.close());
  return { '/widget/socket': widget.handleUpgrade };
}

/**
 * The hub's HTTP server: the express app for requests, and WebSocket upgrades dispatched by path.
 * Returns once it listens.
 */
export async function startHttpServer(runtime: Runtime, listenOn: { port: number; host: string }): Promise<Server> {
  const server = createServer(createApp(runtime));
  const upgrades = upgradeHandlers(runtime, server);
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    const handler = upgrades[path];
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    handler(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOn.port, listenOn.host, () => resolve());
  });
  return server;
}
