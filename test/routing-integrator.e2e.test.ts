import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

// Routing driven from outside, as a bank's integrator does: the CRM pushes contacts and tiers,
// the core system writes on the API channel and reads the callbacks, consoles read the API.

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub({ queueNotices: true });
  callback = await startCallbackServer([200]);
  // No bot on this channel: every conversation is handed to people as it opens.
  channel = await hub.createApiChannel(callback.url);
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

let sent = 0;
/** The bank's core system posts a customer's message on the API channel. */
async function customerPosts(phone: string, text: string, on = channel) {
  const response = await hub.postSigned(on.id, on.secret, { messageId: `m-${phone}-${++sent}`, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
}

/** The customer's open conversation, once it exists. */
function conversationOf(phone: string): Promise<string> {
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string }>(
      sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id
          where i.kind = 'phone' and i.value = ${phone} and c.status <> 'resolved'`,
    );
    return row?.id;
  }, 10_000, `conversation of ${phone}`);
}

const conversation = async (id: string) => (await hub.api('GET', `/api/v1/conversations/${id}`)).body;

describe('tiers from the CRM', () => {
  it('a tier written "VIP" is a VIP: the conversation waits at VIP priority, and rules match tiers without regard to case', async () => {
    const crm = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000001', verified: true }], name: '王先生', tier: 'VIP' });
    expect(crm.status).toBe(200);
    expect(crm.body.contact).toMatchObject({ tier: 'VIP', tierRouting: { vip: true, vipPriority: 2, ruleIds: [], known: true } });
    expect(crm.body.contact.tierRouting.warning).toBeUndefined();

    const rule = await hub.api('POST', '/api/v1/routing/rules', { name: 'Private banking', conditions: { tiers: ['Private'] }, actions: { priority: 3, requiredSkills: ['wealth'] } });
    expect(rule.status).toBe(201);
    const privateClient = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000002' }], tier: 'PRIVATE' });
    expect(privateClient.body.contact.tierRouting).toEqual({ vip: false, vipPriority: null, ruleIds: [rule.body.id], known: true });

    await customerPosts('+8613900000001', '我想咨询理财');
    await customerPosts('+8613900000002', '我想咨询理财');
    const vip = await conversationOf('+8613900000001');
    const wealthy = await conversationOf('+8613900000002');
    await waitFor(async () => (await conversation(vip)).routingStatus === 'queued' && (await conversation(wealthy)).routingStatus === 'queued', 10_000, 'both queued');
    expect(await conversation(vip)).toMatchObject({ priority: 2 });
    expect(await conversation(wealthy)).toMatchObject({ priority: 3, requiredSkills: ['wealth'], routingRuleId: rule.body.id });
    for (const done of [vip, wealthy]) expect((await hub.api('POST', `/api/v1/conversations/${done}/resolve`)).status).toBe(200);
  });

  it('a tier no routing setting knows is reported in the contact’s answer, not silently ignored', async () => {
    const created = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613900000003' }], tier: 'Gold' });
    expect(created.status).toBe(200);
    const { tierRouting } = created.body.contact;
    expect(tierRouting).toMatchObject({ vip: false, vipPriority: null, ruleIds: [], known: false });
    expect(tierRouting.warning).toMatch(/tier "Gold" is not one of the routing VIP tiers \(vip\) and no enabled routing rule names it/);

    const id = created.body.contact.id;
    expect((await hub.api('GET', `/api/v1/contacts/${id}`)).body.tierRouting.known).toBe(false);
    // The admin makes Gold a VIP tier, in whatever case: the contact's answer follows.
    expect((await hub.api('PATCH', '/api/v1/routing/settings', { vipTiers: ['vip', 'GOLD'] })).status).toBe(200);
    expect((await hub.api('GET', `/api/v1/contacts/${id}`)).body.tierRouting).toEqual({ vip: true, vipPriority: 2, ruleIds: [], known: true });
    const noTier = await hub.api('PATCH', `/api/v1/contacts/${id}`, { tier: null });
    expect(noTier.body.tierRouting).toBeNull();
  });
});
