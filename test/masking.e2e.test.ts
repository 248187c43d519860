import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, createUser } from '../core/users/users.js';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let agent: TestAgent;
let conversationId: string;
let contactId: string;

const written = '卡号 6222021234567894，身份证 110105199003071239，电话 13812345678，邮箱 li.na@example.cn，订单 20240501123456789';

async function asUser(token: string, method: string, path: string) {
  const response = await fetch(`${hub.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  const channel = await hub.createApiChannel(callback.url);
  agent = await createAgent(hub, 'mask.agent@bank.test', { languages: ['zh'], capacity: 3 });
  expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' })).status).toBe(200);
  const posted = await hub.postSigned(channel.id, channel.secret, { messageId: 'm-mask-1', from: { kind: 'phone', value: '+8613900000777' }, text: written });
  expect(posted.status).toBe(200);
  const row = await waitFor(async () => {
    const [found] = await hub.runtime.database.query<{ id: string; contact_id: string }>(
      sql`select c.id, c.contact_id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.value = '+8613900000777' and c.routing_status = 'queued'`,
    );
    return found;
  }, 10_000, 'queued conversation');
  conversationId = row.id;
  contactId = row.contact_id;
  expect((await agent.api('POST', `/api/v1/conversations/${conversationId}/transfer`, { agentId: agent.id })).status).toBe(200);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

describe('masking on the way out', () => {
  it('masks card and ID numbers for everyone, phones and emails for agents, and leaves order numbers', async () => {
    const forAdmin = (await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`)).body.items[0];
    expect(forAdmin).toMatchObject({
      text: '卡号 622202******7894，身份证 110***********1239，电话 13812345678，邮箱 li.na@example.cn，订单 20240501123456789',
      masked: true,
      revealable: true,
    });
    const forAgent = (await agent.api('GET', `/api/v1/conversations/${conversationId}/messages`)).body.items[0];
    expect(forAgent).toMatchObject({
      text: '卡号 622202******7894，身份证 110***********1239，电话 138****5678，邮箱 l***@example.cn，订单 20240501123456789',
      masked: true,
      revealable: false,
    });
    expect((await agent.api('GET', `/api/v1/messages/${forAgent.id}`)).body.text).toBe(forAgent.text);
    const list = await agent.api('GET', '/api/v1/conversations?view=mine');
    expect(list.body.items[0].lastMessage.text).toBe(forAgent.text.slice(0, 120));
    const timeline = await agent.api('GET', `/api/v1/contacts/${contactId}/timeline`);
    expect(timeline.body.items.find((entry: any) => entry.type === 'message').text).toBe(forAgent.text);
    expect(JSON.stringify([list.body, timeline.body])).not.toContain('6222021234567894');
  });

  it('reveals the original to roles allowed, in the audit log, and refuses agents', async () => {
    const [message] = (await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`)).body.items;
    expect((await agent.api('POST', `/api/v1/messages/${message.id}/reveal`)).status).toBe(403);
    const revealed = await hub.api('POST', `/api/v1/messages/${message.id}/reveal`);
    expect(revealed).toMatchObject({ status: 200, body: { id: message.id, text: written } });
    const audit = await hub.api('GET', '/api/v1/audit?action=message.reveal');
    expect(audit.body.items).toEqual([expect.objectContaining({ action: 'message.reveal', targetType: 'message', targetId: message.id })]);
  });

  it('shows a marketer a contact without its identities’ values, and no conversation', async () => {
    await createUser(hub.runtime.database.db, null, { email: 'marketer@bank.test', role: 'marketer' });
    const { token } = await createApiToken(hub.runtime.database.db, null, 'marketer@bank.test', 'console');
    const contact = await asUser(token, 'GET', `/api/v1/contacts/${contactId}`);
    expect(contact.status).toBe(200);
    expect(contact.body.identities).toEqual([expect.objectContaining({ kind: 'phone', value: '+86139****0777', masked: true })]);
    expect(JSON.stringify(contact.body)).not.toContain('13900000777');
    expect((await asUser(token, 'GET', `/api/v1/conversations/${conversationId}/messages`)).status).toBe(403);
  });
});
