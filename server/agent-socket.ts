import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { eq } from 'drizzle-orm';
import { WebSocketServer, type WebSocket } from 'ws';
import { conversations } from '../core/db/schema.js';
import type { DomainEvent } from '../core/events.js';
import { eventsChannel } from '../workflows/events.js';
import { routingChannel } from '../workflows/routing.handler.js';
import type { UpgradeHandler } from './http-server.js';
import type { Runtime } from './runtime.js';

const TICKET_TTL_SECONDS = 30;
const ticketKey = (prefix: string, ticket: string) => `${prefix}:agent-ticket:${createHash('sha256').update(ticket).digest('hex')}`;

/**
 * A single-use ticket for opening the agent socket. Browsers cannot set an Authorization header
 * on a WebSocket, and a bearer token in a URL would end up in proxy logs; a ticket that lives
 * seconds and works once can. Only its hash is stored.
 */
export async function issueSocketTicket(runtime: Runtime, userId: string) {
  const ticket = randomBytes(24).toString('base64url');
  await runtime.redis.set(ticketKey(runtime.config.REDIS_PREFIX, ticket), userId, 'EX', TICKET_TTL_SECONDS);
  return { ticket, expiresInSeconds: TICKET_TTL_SECONDS, path: `/ws/agent?ticket=${ticket}` };
}

/**
 * The agent console's live feed at /ws/agent: the agent's new assignments and unassignments, new
 * messages in conversations assigned to them, and the waiting queue's length. Every hub process
 * listens to the same Redis channels, so an agent hears about a change whichever process made it.
 */
export function createAgentSocket(runtime: Runtime): UpgradeHandler {
  const prefix = runtime.config.REDIS_PREFIX;
  const wss = new WebSocketServer({ noServer: true });
  const byAgent = new Map<string, Set<WebSocket>>();
  const subscriber = runtime.redis.duplicate();
  subscriber.on('error', (error) => runtime.logger.warn({ error: error.message }, 'agent socket subscriber error'));
  void subscriber.subscribe(eventsChannel(prefix), routingChannel(prefix));

  const sendTo = (agentId: string, payload: unknown) => {
    const data = JSON.stringify(payload);
    for (const socket of byAgent.get(agentId) ?? []) socket.send(data);
  };

  subscriber.on('message', (channel, raw) => {
    if (!byAgent.size) return;
    void deliver(channel, raw).catch((error: Error) =>
      runtime.logger.warn({ error: error.message }, 'agent socket fan-out failed'),
    );
  });

  async function deliver(channel: string, raw: string) {
    const payload = JSON.parse(raw) as Record<string, unknown>;
    if (channel === routingChannel(prefix)) {
      if (payload.type === 'queue.changed') {
        const data = JSON.stringify(payload);
        for (const sockets of byAgent.values()) for (const socket of sockets) socket.send(data);
      } else {
        sendTo(payload.agentId as string, payload);
      }
      return;
    }
    const event = payload as DomainEvent;
    if (event.type !== 'message.created') return;
    const [row] = await runtime.database.db
      .select({ assigneeId: conversations.assigneeId })
      .from(conversations)
      .where(eq(conversations.id, event.conversationId));
    if (row?.assigneeId) sendTo(row.assigneeId, event);
  }

  // Dead connections (a laptop closed mid-shift) are noticed by the missing pong and dropped.
  const heartbeat = setInterval(() => {
    for (const socket of wss.clients) {
      if ((socket as WebSocket & { alive?: boolean }).alive === false) socket.terminate();
      else {
        (socket as WebSocket & { alive?: boolean }).alive = false;
        socket.ping();
      }
    }
  }, 30_000);
  heartbeat.unref();

  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ticket = new URL(req.url ?? '/', 'http://hub').searchParams.get('ticket');
    const reject = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (!ticket) return reject('401 Unauthorized');
    runtime.redis.getdel(ticketKey(prefix, ticket)).then(
      (agentId) => {
        if (!agentId) return reject('401 Unauthorized');
        wss.handleUpgrade(req, socket, head, (ws) => {
          const sockets = byAgent.get(agentId) ?? new Set<WebSocket>();
          byAgent.set(agentId, sockets.add(ws));
          ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));
          ws.on('close', () => {
            sockets.delete(ws);
            if (!sockets.size) byAgent.delete(agentId);
          });
          ws.send(JSON.stringify({ type: 'ready', agentId }));
        });
      },
      () => reject('503 Service Unavailable'),
    );
  };
  return Object.assign(handler, {
    close() {
      clearInterval(heartbeat);
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      subscriber.disconnect();
    },
  });
}
