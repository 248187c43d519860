import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { findConversationVisitor } from '../adapters/webchat/visitor-session.js';
import type { LiveDelivery } from '../adapters/webchat/webchat.adapter.js';
import { conversations, users } from '../core/db/schema.js';
import type { DomainEvent } from '../core/events.js';
import { startHeartbeat } from '../core/socket-heartbeat.js';
import { describeZodError } from '../core/validation.js';
import { channelLiveTopic } from '../workflows/channel-store.js';
import { eventsChannel } from '../workflows/events.js';
import { routingChannel } from '../workflows/routing.handler.js';
import type { UpgradeHandler } from './http-server.js';
import type { Runtime } from './runtime.js';

const TICKET_TTL_SECONDS = 30;
const ticketKey = (prefix: string, ticket: string) => `${prefix}:agent-ticket:${createHash('sha256').update(ticket).digest('hex')}`;
const typingIntervalMs = 1_000;

/** What an agent may send on the socket. */
const agentFrame = z.discriminatedUnion('type', [z.object({ type: z.literal('typing'), conversationId: z.uuid() })]);

/** Published on the events topic by the widget socket; a live hint, never a stored event. */
interface VisitorTyping {
  type: 'visitor.typing';
  conversationId: string;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

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
 * messages in conversations assigned to them, a web chat visitor typing in one, and the waiting
 * queue's length. The agent sends `typing` frames, shown to the web chat visitor. Every hub process
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
    // A visitor's typing goes where the conversation's messages go: to the agent it is assigned to.
    const event = payload as DomainEvent | VisitorTyping;
    if (event.type !== 'message.created' && event.type !== 'visitor.typing') return;
    const assigneeId = await assigneeOf(event.conversationId);
    if (assigneeId) sendTo(assigneeId, event);
  }

  async function assigneeOf(conversationId: string) {
    const [row] = await runtime.database.db
      .select({ assigneeId: conversations.assigneeId })
      .from(conversations)
      .where(eq(conversations.id, conversationId));
    return row?.assigneeId;
  }

  /**
   * Shows the web chat visitor that their agent is typing, through the channel's live topic that
   * replies take to the visitor's socket. Only the assigned agent may, and nothing is stored.
   */
  async function announceTyping(agentId: string, conversationId: string) {
    const [assigned] = await runtime.database.db
      .select({ name: users.name })
      .from(conversations)
      .innerJoin(users, eq(users.id, conversations.assigneeId))
      .where(and(eq(conversations.id, conversationId), eq(conversations.assigneeId, agentId)));
    const target = assigned && (await findConversationVisitor(runtime.database.db, conversationId));
    if (!target) return;
    const delivery: LiveDelivery = { visitor: target.visitor, typing: assigned.name };
    await runtime.redis.publish(channelLiveTopic(prefix, target.channelId), JSON.stringify(delivery));
  }

  function listen(ws: WebSocket, agentId: string) {
    // Typing frames come with keystrokes; one a second per conversation is plenty for the visitor.
    const lastTyping = new Map<string, number>();
    ws.on('message', (raw) => {
      const frame = agentFrame.safeParse(parseJson(raw.toString()));
      if (!frame.success) {
        ws.send(JSON.stringify({ type: 'error', code: 'bad_frame', message: `invalid frame: ${describeZodError(frame.error)}` }));
        return;
      }
      const { conversationId } = frame.data;
      const now = Date.now();
      if (now - (lastTyping.get(conversationId) ?? 0) < typingIntervalMs) return;
      lastTyping.set(conversationId, now);
      announceTyping(agentId, conversationId).catch((error: Error) =>
        runtime.logger.warn({ error: error.message }, 'agent typing announcement failed'),
      );
    });
  }

  const stopHeartbeat = startHeartbeat(wss, runtime.config.SOCKET_PING_INTERVAL_MS);

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
          ws.on('close', () => {
            sockets.delete(ws);
            if (!sockets.size) byAgent.delete(agentId);
          });
          listen(ws, agentId);
          ws.send(JSON.stringify({ type: 'ready', agentId }));
        });
      },
      () => reject('503 Service Unavailable'),
    );
  };
  return Object.assign(handler, {
    close() {
      stopHeartbeat();
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      subscriber.disconnect();
    },
  });
}
