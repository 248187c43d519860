import { WebSocket } from 'ws';
import { createApiToken, createUser } from '../../core/users/users.js';
import { waitFor, type TestHub } from './test-hub.js';

export interface TestAgent {
  id: string;
  email: string;
  token: string;
  /** Calls the REST API with this agent's own token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** A user with a token and, when `profile` is given, an agent profile set by the admin over HTTP. */
export async function createAgent(
  hub: TestHub,
  email: string,
  profile?: Record<string, unknown>,
  role: 'agent' | 'supervisor' = 'agent',
): Promise<TestAgent> {
  const user = await createUser(hub.runtime.database.db, null, { email, role });
  const { token } = await createApiToken(hub.runtime.database.db, null, email, 'console');
  if (profile) {
    const response = await hub.api('PUT', `/api/v1/agents/${user.id}`, profile);
    if (response.status !== 200) throw new Error(`profile failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return {
    id: user.id,
    email,
    token,
    async api(method, path, body) {
      const response = await fetch(`${hub.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

export interface AgentFeed {
  received: any[];
  /** Waits for a message matching `match` on the socket and returns it. */
  next(match: (message: any) => boolean, what?: string, timeoutMs?: number): Promise<any>;
  /** Sends a frame as the console does. */
  send(frame: object): void;
  close(): void;
}

/** Opens the agent's live feed the way the console does: a ticket over REST, then the socket. */
export async function openAgentFeed(hub: TestHub, agent: TestAgent): Promise<AgentFeed> {
  const { status, body } = await agent.api('POST', '/api/v1/agents/me/socket-ticket');
  if (status !== 201) throw new Error(`ticket failed: ${status}`);
  const socket = new WebSocket(`${hub.baseUrl.replace('http', 'ws')}${body.path}`);
  const received: any[] = [];
  socket.on('message', (data) => received.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await waitFor(async () => received.some((m) => m.type === 'ready'), 5_000, 'socket ready');
  return {
    received,
    next: (match, what = 'socket message', timeoutMs = 15_000) => waitFor(async () => received.find(match), timeoutMs, what),
    send: (frame) => socket.send(JSON.stringify(frame)),
    close: () => socket.close(),
  };
}
