import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, openAgentFeed, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';
import { startWechatChannel } from './support/wechat-channel.js';

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

describe('reply options and delivery on the socket', () => {
  it("says whether WeChat's 48-hour window is open and until when, and lists the channel's templates with their variables", async () => {
    const wechat = await startWechatChannel(hub);
    try {
      const conversationId = await wechat.customerWrites('oWxWorkspaceWindow01', '信用卡被锁了');
      const [written] = (await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`)).body.items;
      const open = await hub.api('GET', `/api/v1/conversations/${conversationId}/channels`);
      expect(open.status).toBe(200);
      const channel = open.body.items.find((item: any) => item.channelId === wechat.channelId);
      expect(channel).toMatchObject({
        type: 'wechat',
        window: { open: true, closesAt: new Date(Date.parse(written.createdAt) + 48 * 3_600_000).toISOString() },
        templates: [{ name: 'card-blocked', variables: ['first', 'keyword1', 'remark'] }],
      });

      await wechat.ageCustomerMessages(conversationId, 49);
      const closed = await hub.api('GET', `/api/v1/conversations/${conversationId}/channels`);
      expect(closed.body.items.find((item: any) => item.channelId === wechat.channelId)).toMatchObject({ window: { open: false, closesAt: null } });
      // What the window says is what a send meets.
      const refused = await hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text: '您好' });
      expect(refused.status).toBe(409);
    } finally {
      await wechat.close();
    }
  });

  it('leaves channels without a window or templates as they were', async () => {
    const id = await waitingConversation('+8613900000002');
    const { body } = await hub.api('GET', `/api/v1/conversations/${id}/channels`);
    const item = body.items.find((c: any) => c.channelId === channel.id);
    expect(item).toBeDefined();
    expect(item).not.toHaveProperty('window');
    expect(item).not.toHaveProperty('templates');
  });

  it("tells the conversation's agent on the socket when a reply has been sent", async () => {
    const id = await waitingConversation('+8613900000003');
    const taken = await colleague.api('POST', `/api/v1/conversations/${id}/transfer`, { agentId: colleague.id });
    expect(taken.status).toBe(200);
    const feed = await openAgentFeed(hub, colleague);
    try {
      const reply = await colleague.api('POST', `/api/v1/conversations/${id}/messages`, { text: '您好，请问有什么可以帮您？' });
      expect(reply.status).toBe(202);
      await feed.next((m) => m.type === 'message.created' && m.messageId === reply.body.id, 'message.created');
      const status = await feed.next((m) => m.type === 'message.status' && m.messageId === reply.body.id, 'message.status');
      expect(status).toMatchObject({ conversationId: id, status: 'sent' });
      expect((await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status).toBe('sent');
    } finally {
      feed.close();
    }
  });
});

describe('a long conversation read from its end', () => {
  it('pages messages newest first with order=desc, each cursor leading to older ones, and oldest first as before', async () => {
    const id = await waitingConversation('+8613900000004');
    for (let n = 1; n <= 4; n += 1) expect((await hub.api('POST', `/api/v1/conversations/${id}/notes`, { text: `note ${n}` })).status).toBe(201);
    const texts = (page: any) => page.items.map((m: any) => m.text);

    const newest = await hub.api('GET', `/api/v1/conversations/${id}/messages?order=desc&limit=2`);
    expect(newest.status).toBe(200);
    expect(texts(newest.body)).toEqual(['note 4', 'note 3']);
    const older = await hub.api('GET', `/api/v1/conversations/${id}/messages?order=desc&limit=2&cursor=${newest.body.nextCursor}`);
    expect(texts(older.body)).toEqual(['note 2', 'note 1']);
    const oldest = await hub.api('GET', `/api/v1/conversations/${id}/messages?order=desc&limit=2&cursor=${older.body.nextCursor}`);
    expect(texts(oldest.body)).toEqual(['你好']);
    expect(oldest.body.nextCursor).toBeNull();

    const ascending = await hub.api('GET', `/api/v1/conversations/${id}/messages?limit=2`);
    expect(texts(ascending.body)).toEqual(['你好', 'note 1']);
    expect((await hub.api('GET', `/api/v1/conversations/${id}/messages?order=sideways`)).status).toBe(400);
  });
});

describe("a contact's whole history read from its end", () => {
  it('pages the timeline newest first with order=desc, each message with its channel and its conversation; oldest first as before', async () => {
    const phone = '+8613900000005';
    const first = await waitingConversation(phone);
    expect((await hub.api('POST', `/api/v1/conversations/${first}/resolve`)).status).toBe(200);
    const app = await hub.api('POST', '/api/v1/channels', { type: 'api', name: 'Mobile banking', config: { callbackUrl: callback.url, secret: 'mobile-banking-secret-0123456789' } });
    expect(app.status).toBe(201);
    expect((await hub.postSigned(app.body.id, 'mobile-banking-secret-0123456789', { messageId: 'history-2', from: { kind: 'phone', value: phone }, text: '转账失败了' })).status).toBe(200);
    const second = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ conversation_id: string }>(sql`select conversation_id from messages where text = '转账失败了'`);
      return row?.conversation_id;
    }, 10_000, 'second conversation');
    expect(second).not.toBe(first);
    const { contactId } = (await hub.api('GET', `/api/v1/conversations/${second}`)).body;
    expect((await hub.api('POST', `/api/v1/conversations/${second}/notes`, { text: '客户称转账失败' })).status).toBe(201);

    const newest = await hub.api('GET', `/api/v1/contacts/${contactId}/timeline?order=desc&limit=2`);
    expect(newest.status).toBe(200);
    expect(newest.body.items.map((entry: any) => entry.text)).toEqual(['客户称转账失败', '转账失败了']);
    expect(newest.body.items[1]).toMatchObject({
      type: 'message',
      conversationId: second,
      contactId,
      channelId: app.body.id,
      direction: 'inbound',
      authorId: null,
      status: 'received',
      errorCode: null,
      createdAt: expect.any(String),
      seq: expect.anything(),
      channel: { type: 'api', name: 'Mobile banking' },
      conversation: { status: 'open', createdAt: expect.any(String), channelId: app.body.id, channelType: 'api', channelName: 'Mobile banking' },
    });
    const older = await hub.api('GET', `/api/v1/contacts/${contactId}/timeline?order=desc&limit=2&cursor=${newest.body.nextCursor}`);
    expect(older.body.items).toEqual([
      expect.objectContaining({ text: '你好', conversationId: first, channel: { type: 'api', name: 'Core banking' }, conversation: expect.objectContaining({ status: 'resolved', channelId: channel.id }) }),
    ]);
    expect(older.body.nextCursor).toBeNull();

    const ascending = await hub.api('GET', `/api/v1/contacts/${contactId}/timeline?limit=2`);
    expect(ascending.body.items.map((entry: any) => entry.text)).toEqual(['你好', '转账失败了']);
    expect((await hub.api('GET', `/api/v1/contacts/${contactId}/timeline?order=sideways`)).status).toBe(400);

    // The agent of the second conversation reads the contact's history: theirs, without the one they never saw.
    expect((await agent.api('POST', `/api/v1/conversations/${second}/transfer`, { agentId: agent.id })).status).toBe(200);
    const theirs = await agent.api('GET', `/api/v1/contacts/${contactId}/timeline?order=desc`);
    expect(theirs.status).toBe(200);
    expect(theirs.body.items.map((entry: any) => entry.conversationId)).toContain(second);
  });
});
