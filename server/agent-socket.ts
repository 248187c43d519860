import { createHash, randomBytes } from 'node:crypto';
import { presentMessage } from '../core/security/message-view.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { findConversationVisitor } from '../adapters/webchat/visitor-session.js';
import type { LiveDelivery } from '../adapters/webchat/webchat.adapter.js';
import { conversations, users, type UserRole } from '../core/db/schema.js';
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
/** How long the notices of one routing change are gathered before their conversation's state is read. */
const stateCoalesceMs = 20;

/** What an agent may send on the socket. */
const agentFrame = z.discriminatedUnion('type', [z.object({ type: z.literal('typing'), conversationId: z.uuid() })]);

/** Published on the events topic by the widget socket; a live hint, never a stored event. */
interface VisitorTyping {
  type: 'visitor.typing';
  conversationId: string;
}

/** The compact state of a conversation a console refreshes one list row with. */
export interface ConversationUpdated {
  type: 'conversation.updated';
  conversationId: string;
  status: string;
  routingStatus: string | null;
  assigneeId: string | null;
  teamId: string | null;
  priority: number;
}

/** Who is on a socket: admins and supervisors watch every conversation, agents their own. */
interface Listener {
  userId: string;
  watchesAll: boolean;
}

const watchingRoles: readonly UserRole[] = ['admin', 'supervisor'];

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
 * The console's live feed at /ws/agent. An agent hears of their own assignments and
 * unassignments, new messages (staff notes included) and delivery statuses in conversations
 * assigned to them, a web chat visitor typing in one, `conversation.updated` when one of theirs
 * changes state, SLA warnings and breaches on theirs, and the waiting queue's length. Admins and supervisors hear the same for every
 * conversation, and of conversations opened, except visitors' typing, which stays with the
 * assigned agent. The agent sends `typing` frames, shown to the web chat visitor. Every hub
 * process listens to the same Redis channels, so a console hears of a change whichever process
 * made it. A process reads the database at most once per event, and only when a connected
 * console may receive it.
 */
export function createAgentSocket(runtime: Runtime): UpgradeHandler {
  const prefix = runtime.config.REDIS_PREFIX;
  const wss = new WebSocketServer({ noServer: true });
  const byUser = new Map<string, Set<WebSocket>>();
  /** Sockets of admins and supervisors, who see every conversation. */
  const watchers = new Set<WebSocket>();
  /** Sockets of users who only see conversations assigned to them. */
  let assignedOnly = 0;
  const subscriber = runtime.redis.duplicate();
  subscriber.on('error', (error) => runtime.logger.warn({ error: error.message }, 'agent socket subscriber error'));
  void subscriber.subscribe(eventsChannel(prefix), routingChannel(prefix));

  /**
   * The customer's latest messages an assignment carries, masked as an agent sees them (the frame
   * is serialized once for every listener, so for the most restricted role that hears it).
   */
  const asAgent = { role: 'agent' as const, policy: { contactDetailsRoles: runtime.config.MASK_CONTACT_DETAILS_ROLES, revealRoles: runtime.config.MASK_REVEAL_ROLES } };
  const masked = (payload: Record<string, unknown>) =>
    Array.isArray(payload.messages)
      ? { ...payload, messages: (payload.messages as Array<{ text: string | null }>).map((message) => presentMessage(message, asAgent)) }
      : payload;

  /** Sends one payload, serialized once, to each socket at most once. */
  const send = (payload: unknown, targets: Iterable<WebSocket>) => {
    const data = JSON.stringify(payload);
    for (const socket of new Set(targets)) socket.send(data);
  };
  const socketsOf = (userId: string | null | undefined) => (userId ? (byUser.get(userId) ?? []) : []);

  subscriber.on('message', (channel, raw) => {
    if (!byUser.size) return;
    void deliver(channel, raw).catch((error: Error) =>
      runtime.logger.warn({ error: error.message }, 'agent socket fan-out failed'),
    );
  });

  /**
   * Conversations whose state consoles are about to be sent. One routing change announces several
   * notices for a conversation (a transfer: changed, unassigned, assigned), which arrive together:
   * their state is read once, just after them.
   */
  const refreshing = new Set<string>();
  function refreshSoon(conversationId: string) {
    if (refreshing.has(conversationId)) return;
    refreshing.add(conversationId);
    setTimeout(() => {
      refreshing.delete(conversationId);
      sendState(conversationId).catch((error: Error) => runtime.logger.warn({ error: error.message }, 'agent socket fan-out failed'));
    }, stateCoalesceMs).unref();
  }

  async function sendState(conversationId: string) {
    // Read only when someone here may receive it: a watcher, or an agent who may be the assignee.
    if (!watchers.size && !assignedOnly) return;
    const state = await conversationState(conversationId);
    if (state) send(state, [...watchers, ...socketsOf(state.assigneeId)]);
  }

  async function deliver(channel: string, raw: string) {
    const payload = JSON.parse(raw) as Record<string, unknown>;
    if (channel === routingChannel(prefix)) {
      switch (payload.type) {
        case 'queue.changed':
          return send(payload, [...byUser.values()].flatMap((sockets) => [...sockets]));
        case 'conversation.changed':
          return refreshSoon(payload.conversationId as string);
        case 'conversation.assigned':
        case 'conversation.unassigned':
          send(masked(payload), [...watchers, ...socketsOf(payload.agentId as string)]);
          return refreshSoon(payload.conversationId as string);
        default:
          return;
      }
    }
    const event = payload as DomainEvent | VisitorTyping;
    switch (event.type) {
      case 'conversation.opened': {
        if (!watchers.size) return;
        send(event, watchers);
        // A new conversation's state is known without reading it: open, with the bot, unassigned.
        const opened: ConversationUpdated = {
          type: 'conversation.updated',
          conversationId: event.conversationId,
          status: 'open',
          routingStatus: null,
          assigneeId: null,
          teamId: null,
          priority: 1,
        };
        return send(opened, watchers);
      }
      case 'message.created':
      case 'message.status': {
        // Watchers need no lookup; the assigned agent's socket does.
        const assigneeId = assignedOnly ? await assigneeOf(event.conversationId) : undefined;
        return send(event, [...watchers, ...socketsOf(assigneeId)]);
      }
      case 'visitor.typing':
        // A visitor's typing is for the agent the conversation is assigned to.
        return send(event, socketsOf(await assigneeOf(event.conversationId)));
      case 'sla.warning':
      case 'sla.breached':
        // The event names the assignee it was recorded for: no lookup.
        return send(event, [...watchers, ...socketsOf(event.assigneeId)]);
      default:
        return;
    }
  }

  async function assigneeOf(conversationId: string) {
    const [row] = await runtime.database.db
      .select({ assigneeId: conversations.assigneeId })
      .from(conversations)
      .where(eq(conversations.id, conversationId));
    return row?.assigneeId;
  }

  async function conversationState(conversationId: string): Promise<ConversationUpdated | undefined> {
    const [row] = await runtime.database.db
      .select({
        status: conversations.status,
        routingStatus: conversations.routingStatus,
        assigneeId: conversations.assigneeId,
        teamId: conversations.teamId,
        priority: conversations.priority,
      })
      .from(conversations)
      .where(eq(conversations.id, conversationId));
    return row && { type: 'conversation.updated', conversationId, ...row };
  }

  /** Who the ticket's user is now: a disabled user, or one whose role no longer takes part, is refused. */
  async function identify(userId: string): Promise<Listener | undefined> {
    const [user] = await runtime.database.db.select({ role: users.role, disabled: users.disabled }).from(users).where(eq(users.id, userId));
    if (!user || user.disabled || user.role === 'marketer') return undefined;
    return { userId, watchesAll: watchingRoles.includes(user.role) };
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
      async (userId) => {
        if (!userId) return reject('401 Unauthorized');
        const listener = await identify(userId);
        if (!listener) return reject('403 Forbidden');
        wss.handleUpgrade(req, socket, head, (ws) => {
          const sockets = byUser.get(userId) ?? new Set<WebSocket>();
          byUser.set(userId, sockets.add(ws));
          if (listener.watchesAll) watchers.add(ws);
          else assignedOnly++;
          ws.on('close', () => {
            sockets.delete(ws);
            if (!sockets.size) byUser.delete(userId);
            if (listener.watchesAll) watchers.delete(ws);
            else assignedOnly--;
          });
          listen(ws, userId);
          ws.send(JSON.stringify({ type: 'ready', agentId: userId, scope: listener.watchesAll ? 'all' : 'assigned' }));
        });
      },
      () => reject('503 Service Unavailable'),
    ).catch(() => reject('503 Service Unavailable'));
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
