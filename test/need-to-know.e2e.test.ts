import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachments, conversations, messages } from '../core/db/schema.js';
import { startCallbackServer } from './support/callback-server.js';
import { createAgent, type TestAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let agentA: TestAgent;
let agentB: TestAgent;
let supervisorA: TestAgent;
let mine: { conversationId: string; contactId: string; attachmentId: string };
let theirs: { conversationId: string; contactId: string; attachmentId: string };

/** A customer writes; the conversation waits in `teamId`'s line and `agent` takes it. */
async function conversationOf(phone: string, teamId: string, agent: TestAgent) {
  const response = await hub.postSigned(channel.id, channel.secret, { messageId: `m-${phone}`, from: { kind: 'phone', value: phone }, text: '我的卡被锁了' });
  expect(response.status).toBe(200);
  const row = await waitFor(async () => {
    const [found] = await hub.runtime.database.query<{ id: string; contact_id: string }>(
      sql`select c.id, c.contact_id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} and c.routing_status = 'queued'`,
    );
    return found;
  }, 10_000, `queued conversation of ${phone}`);
  const db = hub.runtime.database.db;
  await db.update(conversations).set({ teamId }).where(eq(conversations.id, row.id));
  const taken = await agent.api('POST', `/api/v1/conversations/${row.id}/transfer`, { agentId: agent.id });
  expect(taken.status, JSON.stringify(taken.body)).toBe(200);
  const [message] = await db.select({ id: messages.id }).from(messages).where(eq(messages.conversationId, row.id));
  const [file] = await db
    .insert(attachments)
    .values({ messageId: message!.id, channelId: channel.id, contentType: 'text/plain', fileName: 'statement.txt', size: 3, sha256: 'x', data: Buffer.from('abc') })
    .returning({ id: attachments.id });
  return { conversationId: row.id, contactId: row.contact_id, attachmentId: file!.id };
}

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  const teamA = (await hub.api('POST', '/api/v1/teams', { name: 'Cards A' })).body.id as string;
  const teamB = (await hub.api('POST', '/api/v1/teams', { name: 'Loans B' })).body.id as string;
  agentA = await createAgent(hub, 'a@bank.test', { languages: ['zh'], capacity: 3, teamIds: [teamA] });
  agentB = await createAgent(hub, 'b@bank.test', { languages: ['zh'], capacity: 3, teamIds: [teamB] });
  supervisorA = await createAgent(hub, 'sup.a@bank.test', { teamIds: [teamA] }, 'supervisor');
  for (const agent of [agentA, agentB]) expect((await agent.api('PUT', '/api/v1/agents/me/presence', { presence: 'busy' })).status).toBe(200);
  mine = await conversationOf('+8613900000101', teamA, agentA);
  theirs = await conversationOf('+8613900000202', teamB, agentB);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

describe('need to know', () => {
  const requests = (target: typeof mine, assigneeId: () => string) =>
    [
      ['read', 'GET', `/api/v1/conversations/${target.conversationId}`],
      ['messages', 'GET', `/api/v1/conversations/${target.conversationId}/messages`],
      ['timeline', 'GET', `/api/v1/contacts/${target.contactId}/timeline`],
      ['contact', 'GET', `/api/v1/contacts/${target.contactId}`],
      ['reply', 'POST', `/api/v1/conversations/${target.conversationId}/messages`, { text: '您好' }],
      ['list by assignee', 'GET', `/api/v1/conversations?assigneeId=${assigneeId()}`],
      ['contact tier', 'PATCH', `/api/v1/contacts/${target.contactId}`, { tier: 'vip' }],
      ['attachment', 'GET', `/api/v1/attachments/${target.attachmentId}`],
      ['sla', 'GET', `/api/v1/conversations/${target.conversationId}/sla`],
      ['assignments', 'GET', `/api/v1/conversations/${target.conversationId}/assignments`],
    ] as const;

  it("refuses agent A every read and action on agent B's conversation of team B", async () => {
    for (const [what, method, path, body] of [
      ...requests(theirs, () => agentB.id),
      ['template', 'POST', `/api/v1/conversations/${theirs.conversationId}/template-messages`, { name: 'x', variables: {} }],
      ['note', 'POST', `/api/v1/conversations/${theirs.conversationId}/notes`, { text: 'x' }],
      ['reopen', 'POST', `/api/v1/conversations/${theirs.conversationId}/reopen`],
      ['resolve', 'POST', `/api/v1/conversations/${theirs.conversationId}/resolve`],
    ] as const) {
      const response = await agentA.api(method, path, body);
      expect([403, 404], `${what}: ${response.status} ${JSON.stringify(response.body)}`).toContain(response.status);
    }
    const byContact = await agentA.api('GET', `/api/v1/conversations?contactId=${theirs.contactId}`);
    expect(byContact.status).toBe(200);
    expect(byContact.body.items).toEqual([]);
    const contacts = await agentA.api('GET', '/api/v1/contacts');
    expect(contacts.body.items.map((c: { id: string }) => c.id)).not.toContain(theirs.contactId);
    const file = await agentA.api('GET', `/api/v1/attachments/${theirs.attachmentId}`);
    expect(file.status).toBe(403);
  });

  it('still lets agent A read and act on their own conversation', async () => {
    for (const [what, method, path, body] of requests(mine, () => agentA.id)) {
      const response = await fetch(`${hub.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${agentA.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(response.status, `${what}: ${response.status} ${await response.clone().text()}`).toBeLessThan(300);
    }
    const list = await agentA.api('GET', '/api/v1/conversations?view=mine');
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([mine.conversationId]);
    expect((await agentA.api('POST', `/api/v1/conversations/${mine.conversationId}/resolve`)).status).toBe(200);
    expect((await agentA.api('POST', `/api/v1/conversations/${mine.conversationId}/reopen`)).status).toBeLessThan(300);
  });

  it("lets a supervisor of team A see team A's conversations, not team B's; admins see both", async () => {
    expect((await supervisorA.api('GET', `/api/v1/conversations/${mine.conversationId}`)).status).toBe(200);
    expect((await supervisorA.api('GET', `/api/v1/conversations/${theirs.conversationId}/messages`)).status).toBe(403);
    const all = await supervisorA.api('GET', '/api/v1/conversations?view=all');
    expect(all.body.items.map((c: { id: string }) => c.id)).not.toContain(theirs.conversationId);
    expect((await hub.api('GET', `/api/v1/conversations/${theirs.conversationId}`)).status).toBe(200);
  });

  it('lets agent B, once A took part in it, not lose sight of a conversation transferred away', async () => {
    // B hands their conversation to A: A had no part before, now has the assignment.
    const transfer = await agentB.api('POST', `/api/v1/conversations/${theirs.conversationId}/transfer`, { agentId: agentA.id });
    expect(transfer.status, JSON.stringify(transfer.body)).toBe(200);
    expect((await agentA.api('GET', `/api/v1/conversations/${theirs.conversationId}/messages`)).status).toBe(200);
    // B took part (an assignment, and the history shows it): B still reads it.
    expect((await agentB.api('GET', `/api/v1/conversations/${theirs.conversationId}/messages`)).status).toBe(200);
  });
});
