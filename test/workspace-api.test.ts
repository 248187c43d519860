import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let agent: TestAgent;
let colleague: TestAgent;

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  agent = await createAgent(hub, 'zhou.min@bank.test', { languages: ['zh'], capacity: 3 });
  colleague = await createAgent(hub, 'sun.li@bank.test', { languages: ['zh'], capacity: 3 });
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

async function waitingConversation(phone: string) {
  const response = await hub.postSigned(channel.id, channel.secret, { messageId: `m-${phone}`, from: { kind: 'phone', value: phone }, text: '你好' });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} and c.routing_status = 'queued'`,
    );
    return row?.id;
  }, 10_000, `queued conversation of ${phone}`);
}

describe('the workspace API', () => {
  it('lists colleagues to transfer to, for agents too, without their contact details', async () => {
    const { status, body } = await agent.api('GET', '/api/v1/agents/transfer-targets');
    expect(status).toBe(200);
    expect(body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: colleague.id, presence: 'offline', capacity: 3, activeCount: 0 })]),
    );
    expect(body.items[0]).not.toHaveProperty('email');
    expect(body.items[0]).not.toHaveProperty('skills');
  });

  it('lets an agent take a waiting conversation for themselves, but not one a colleague has', async () => {
    // Nobody is online, so the conversation waits in the queue.
    const id = await waitingConversation('+8613900000001');
    expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' })).status).toBe(200);
    const taken = await agent.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: agent.id });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ assigneeId: agent.id, routingStatus: 'assigned' });

    expect((await colleague.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' })).status).toBe(200);
    const refused = await colleague.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: colleague.id });
    expect(refused.status).toBe(403);
    const history = await hub.api('GET', `/api/v1/conversations/${id}/transfers`);
    expect(history.body.items).toEqual([expect.objectContaining({ fromAgentId: null, toAgentId: agent.id, actorUserId: agent.id })]);
  });
});
