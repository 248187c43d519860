import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentConsent, recordConsent } from '../core/consents/consents.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let smsCallback: Awaited<ReturnType<typeof startCallbackServer>>;
let appCallback: Awaited<ReturnType<typeof startCallbackServer>>;
let sms: { id: string; secret: string };
let app: { id: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub();
  smsCallback = await startCallbackServer([200]);
  appCallback = await startCallbackServer([200]);
  sms = await hub.createApiChannel(smsCallback.url);
  app = await hub.createApiChannel(appCallback.url);
});
afterAll(async () => {
  await smsCallback?.close();
  await appCallback?.close();
  await hub?.close();
});

let counter = 0;
type From = { kind: string; value: string; linked?: Array<{ kind: string; value: string }> };

/** Posts a signed message and waits until the pipeline stored it; returns where it landed. */
async function send(channel: { id: string; secret: string }, from: From, text: string) {
  const messageId = `id-${++counter}`;
  const response = await hub.postSigned(channel.id, channel.secret, { messageId, from, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ id: string; contact_id: string; conversation_id: string }>(
      sql`select id, contact_id, conversation_id from messages where provider_message_id = ${messageId} and channel_id = ${channel.id}`,
    );
    return row;
  }, 15_000, `message ${messageId}`);
}

async function timelineTexts(contactId: string): Promise<string[]> {
  const { status, body } = await hub.api('GET', `/api/v1/contacts/${contactId}/timeline?limit=200`);
  expect(status).toBe(200);
  return body.items.filter((e: { type: string }) => e.type === 'message').map((m: { text: string }) => m.text);
}

describe('one customer across channels', () => {
  it('an SMS contact and a logged-in app user with the same verified phone become one contact with one conversation, and undo separates them', async () => {
    const phone = '+8613811112222';
    const first = await send(sms, { kind: 'phone', value: phone }, 'sms: my card is blocked');
    const anonymous = await send(app, { kind: 'app_user', value: 'u-1001' }, 'app: hello before login');
    expect(anonymous.contact_id).not.toBe(first.contact_id);

    const loggedIn = await send(app, { kind: 'app_user', value: 'u-1001', linked: [{ kind: 'phone', value: '138 1111 2222' }] }, 'app: logged in now');
    const survivorId = first.contact_id;
    expect(loggedIn.contact_id).toBe(survivorId);

    const survivor = await hub.api('GET', `/api/v1/contacts/${survivorId}`);
    expect(survivor.body.identities.map((i: { kind: string }) => i.kind).sort()).toEqual(['app_user', 'phone']);
    // The merged contact's id still resolves, to the survivor.
    const tombstone = await hub.api('GET', `/api/v1/contacts/${anonymous.contact_id}`);
    expect(tombstone.status).toBe(200);
    expect(tombstone.body).toMatchObject({ id: survivorId, resolvedFrom: anonymous.contact_id });

    // One continuous conversation that has seen both channels.
    const conversations = await hub.api('GET', `/api/v1/conversations?contactId=${survivorId}&status=open`);
    expect(conversations.body.items).toHaveLength(1);
    const conversation = conversations.body.items[0];
    expect(conversation.id).toBe(loggedIn.conversation_id);
    expect(conversation.seenChannelIds.sort()).toEqual([sms.id, app.id].sort());
    // Listing by the merged contact's id finds the same conversation.
    const byTombstone = await hub.api('GET', `/api/v1/conversations?contactId=${anonymous.contact_id}&status=open`);
    expect(byTombstone.body.items.map((c: { id: string }) => c.id)).toEqual([conversation.id]);
    expect((await hub.api('GET', `/api/v1/conversations?contactId=${randomUUID()}`)).status).toBe(404);
    const inConversation = await hub.api('GET', `/api/v1/conversations/${conversation.id}/messages`);
    expect(inConversation.body.items.map((m: { text: string }) => m.text)).toEqual([
      'sms: my card is blocked',
      'app: hello before login',
      'app: logged in now',
    ]);

    const merges = await hub.api('GET', `/api/v1/contact-merges?contactId=${survivorId}`);
    expect(merges.body.items).toHaveLength(1);
    const merge = merges.body.items[0];
    expect(merge).toMatchObject({
      survivorId,
      mergedId: anonymous.contact_id,
      rule: 'auto:phone',
      reason: { identity: { kind: 'phone', value: phone } },
    });
    expect(merge.moved.messages.map((m: { id: string }) => m.id)).toEqual([anonymous.id]);

    // A message after the merge, on the merged contact's identity, goes back with it on undo.
    const later = await send(app, { kind: 'app_user', value: 'u-1001' }, 'app: after the merge');
    expect(later.contact_id).toBe(survivorId);
    const smsLater = await send(sms, { kind: 'phone', value: phone }, 'sms: also after the merge');

    const undo = await hub.api('POST', `/api/v1/contact-merges/${merge.id}/undo`);
    expect(undo.status).toBe(200);
    expect(undo.body.undoneAt).not.toBeNull();
    expect(undo.body.undo.messagesArrivedSince.sort()).toEqual([loggedIn.id, later.id].sort());

    // Messages follow the identity they came from: the app user's go back with the app_user identity.
    expect(await timelineTexts(survivorId)).toEqual(['sms: my card is blocked', 'sms: also after the merge']);
    expect(await timelineTexts(anonymous.contact_id)).toEqual(['app: hello before login', 'app: logged in now', 'app: after the merge']);
    const restored = await hub.api('GET', `/api/v1/contacts/${anonymous.contact_id}`);
    expect(restored.body.id).toBe(anonymous.contact_id);
    expect(restored.body.identities.map((i: { kind: string }) => i.kind)).toEqual(['app_user']);
    const survivorAfter = await hub.api('GET', `/api/v1/contacts/${survivorId}`);
    expect(survivorAfter.body.identities.map((i: { kind: string }) => i.kind)).toEqual(['phone']);
    // Each conversation holds only its own contact's messages again.
    const [mixed] = await hub.runtime.database.query<{ n: number }>(
      sql`select count(*)::int as n from messages m join conversations c on c.id = m.conversation_id where m.contact_id <> c.contact_id`,
    );
    expect(mixed!.n).toBe(0);
    expect(smsLater.contact_id).toBe(survivorId);

    // The timeline shows the merge and its undo among the messages, page by page.
    const entries: Array<{ type: string; text?: string; mergeId?: string }> = [];
    let cursor: string | null = null;
    do {
      const { body } = await hub.api('GET', `/api/v1/contacts/${survivorId}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(body.items.length).toBeLessThanOrEqual(2);
      entries.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor);
    expect(entries.map((e) => (e.type === 'message' ? e.text : `${e.type} ${e.mergeId}`))).toEqual([
      'sms: my card is blocked',
      `contact.merged ${merge.id}`,
      'sms: also after the merge',
      `contact.merge_undone ${merge.id}`,
    ]);

    const again = await hub.api('POST', `/api/v1/contact-merges/${merge.id}/undo`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already undone/);

    // Once undone, the same link no longer merges the pair by itself: it is offered as a suggestion.
    const relinked = await send(app, { kind: 'app_user', value: 'u-1001', linked: [{ kind: 'phone', value: phone }] }, 'app: logged in again');
    expect(relinked.contact_id).toBe(anonymous.contact_id);
    const duplicates = await hub.api('GET', `/api/v1/contacts/${survivorId}/duplicates`);
    expect(duplicates.body.items).toEqual([
      expect.objectContaining({ contactId: anonymous.contact_id, kind: 'phone', reason: expect.stringContaining(`merge ${merge.id} of these contacts was undone`) }),
    ]);
  });

  it('lists the channels a conversation can be answered on, and a reply goes out on the one the agent picks', async () => {
    const phone = '+8613822223333';
    await send(sms, { kind: 'phone', value: phone }, 'sms first');
    const viaApp = await send(app, { kind: 'app_user', value: 'u-2002', linked: [{ kind: 'phone', value: phone }] }, 'app second');
    const reachable = await hub.api('GET', `/api/v1/conversations/${viaApp.conversation_id}/channels`);
    expect(reachable.status).toBe(200);
    expect(reachable.body.lastChannelId).toBe(app.id);
    const byChannel = Object.fromEntries(reachable.body.items.map((i: { channelId: string }) => [i.channelId, i]));
    expect(byChannel[app.id]).toMatchObject({ last: true, identity: { kind: 'app_user', value: 'u-2002' } });
    expect(byChannel[sms.id]).toMatchObject({ last: false, identity: { kind: 'phone', value: phone } });

    const reply = await hub.api('POST', `/api/v1/conversations/${viaApp.conversation_id}/messages`, { text: 'answered by SMS', channelId: sms.id });
    expect(reply.status).toBe(202);
    await waitFor(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status === 'sent', 15_000, 'sent');
    const delivered = smsCallback.received.map((r) => JSON.parse(r.body)).find((b) => b.messageId === reply.body.id);
    expect(delivered).toMatchObject({ to: { kind: 'phone', value: phone }, text: 'answered by SMS' });
    expect(appCallback.received.some((r) => JSON.parse(r.body).messageId === reply.body.id)).toBe(false);
  });

  it('a conversation continues across channels within 24 hours of inactivity; after that a new one opens', async () => {
    const phone = '+8613866667777';
    const first = await send(sms, { kind: 'phone', value: phone }, 'window: sms');
    const second = await send(app, { kind: 'app_user', value: 'u-4004', linked: [{ kind: 'phone', value: phone }] }, 'window: app');
    expect(second.conversation_id).toBe(first.conversation_id);

    await hub.runtime.database.query(
      sql`update conversations set last_message_at = now() - interval '25 hours' where id = ${first.conversation_id}`,
    );
    const third = await send(app, { kind: 'app_user', value: 'u-4004' }, 'window: next day');
    expect(third.contact_id).toBe(first.contact_id);
    expect(third.conversation_id).not.toBe(first.conversation_id);
    const opened = await hub.api('GET', `/api/v1/conversations/${third.conversation_id}`);
    expect(opened.body.seenChannelIds).toEqual([app.id]);
  });

  it('two workers linking the same pair at once produce exactly one merge and lose no message', async () => {
    const phone = '+8613833334444';
    const a = await send(sms, { kind: 'phone', value: phone }, 'pair: sms');
    const b = await send(app, { kind: 'app_user', value: 'u-3003' }, 'pair: app');
    const from = { kind: 'app_user', value: 'u-3003', linked: [{ kind: 'phone', value: phone }] };
    const landed = await Promise.all(Array.from({ length: 4 }, (_, i) => send(app, from, `pair: linked ${i}`)));
    expect(new Set(landed.map((m) => m.contact_id))).toEqual(new Set([a.contact_id]));
    const merges = await hub.api('GET', `/api/v1/contact-merges?contactId=${b.contact_id}`);
    expect(merges.body.items).toHaveLength(1);
    expect((await timelineTexts(a.contact_id)).sort()).toEqual(['pair: app', 'pair: linked 0', 'pair: linked 1', 'pair: linked 2', 'pair: linked 3', 'pair: sms']);
  });
});

describe('contacts pushed by the bank, manual merges and rules', () => {
  it('upserts a contact by identity and updates its attributes; bad input is a 400 that changes nothing', async () => {
    const created = await hub.api('POST', '/api/v1/contacts', {
      identities: [{ kind: 'external_id', value: 'CUST-9001', verified: true }, { kind: 'email', value: ' Li.Na@Example.com ' }],
      name: '李娜',
      language: 'zh-CN',
      timezone: 'Asia/Shanghai',
      tier: 'VIP',
      birthday: '1985-04-12',
      tags: ['wealth'],
      attributes: { branch: 'Pudong' },
    });
    expect(created.status).toBe(200);
    expect(created.body.created).toBe(true);
    const id = created.body.contact.id;
    expect(created.body.contact).toMatchObject({ name: '李娜', tier: 'VIP', birthday: '1985-04-12', tags: ['wealth'], attributes: { branch: 'Pudong' } });
    expect(created.body.contact.identities).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'email', value: 'li.na@example.com', verified: false })]),
    );

    const again = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'email', value: 'li.na@example.com' }], tier: 'Private' });
    expect(again.body).toMatchObject({ created: false, contact: { id, tier: 'Private', name: '李娜' } });

    const patched = await hub.api('PATCH', `/api/v1/contacts/${id}`, { tags: ['wealth', 'insurance'], attributes: { branch: null, rm: 'Zhang' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ tags: ['wealth', 'insurance'], attributes: { rm: 'Zhang' } });
    expect(patched.body.attributes).not.toHaveProperty('branch');

    const badZone = await hub.api('PATCH', `/api/v1/contacts/${id}`, { timezone: 'Mars/Olympus', tier: 'Gold' });
    expect(badZone.status).toBe(400);
    expect(badZone.body.error).toMatch(/timezone/);
    const badPhone = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '12' }] });
    expect(badPhone.status).toBe(400);
    expect(badPhone.body.error).toMatch(/identities\.0/);
    const unknownField = await hub.api('PATCH', `/api/v1/contacts/${id}`, { vip: true });
    expect(unknownField.status).toBe(400);
    expect((await hub.api('GET', `/api/v1/contacts/${id}`)).body).toMatchObject({ tier: 'Private', timezone: 'Asia/Shanghai' });
  });

  it('the same new customer pushed five times at once becomes one contact', async () => {
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'external_id', value: 'CUST-RACE', verified: true }] })),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(responses.filter((r) => r.body.created)).toHaveLength(1);
    expect(new Set(responses.map((r) => r.body.contact.id)).size).toBe(1);
    expect(responses.flatMap((r) => r.body.merges)).toEqual([]);
  });

  it('a verified link between contacts with different external ids is not merged but suggested, with the reason', async () => {
    const one = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'external_id', value: 'CUST-1', verified: true }] });
    const two = await hub.api('POST', '/api/v1/contacts', {
      identities: [{ kind: 'external_id', value: 'CUST-2', verified: true }, { kind: 'phone', value: '+8613844445555', verified: true }],
    });
    const linked = await hub.api('POST', `/api/v1/contacts/${one.body.contact.id}/identities`, {
      identities: [{ kind: 'phone', value: '+8613844445555', verified: true }],
    });
    expect(linked.status).toBe(200);
    expect(linked.body.merges).toEqual([]);
    const duplicates = await hub.api('GET', `/api/v1/contacts/${two.body.contact.id}/duplicates`);
    expect(duplicates.body.items).toEqual([
      expect.objectContaining({ contactId: one.body.contact.id, kind: 'phone', reason: expect.stringMatching(/different verified external_id/) }),
    ]);
  });

  it('an unverified match is only suggested; a verified one merges unless the admin turns the rule off', async () => {
    const owner = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'email', value: 'wang@example.com', verified: true }] });
    const other = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: '+8613855556666' }] });
    const typed = await hub.api('POST', `/api/v1/contacts/${other.body.contact.id}/identities`, { identities: [{ kind: 'email', value: 'wang@example.com' }] });
    expect(typed.body.merges).toEqual([]);
    expect((await hub.api('GET', `/api/v1/contacts/${owner.body.contact.id}/duplicates`)).body.items).toEqual([
      expect.objectContaining({ contactId: other.body.contact.id, kind: 'email', reason: expect.stringMatching(/unverified email/) }),
    ]);

    const rule = await hub.api('PATCH', '/api/v1/identity-merge-rules/email', { autoMerge: false });
    expect(rule.body).toEqual({ kind: 'email', autoMerge: false, allowSeveral: true });
    const rules = await hub.api('GET', '/api/v1/identity-merge-rules');
    expect(rules.body.items).toContainEqual({ kind: 'email', autoMerge: false, allowSeveral: true });
    const off = await hub.api('POST', `/api/v1/contacts/${other.body.contact.id}/identities`, { identities: [{ kind: 'email', value: 'wang@example.com', verified: true }] });
    expect(off.body.merges).toEqual([]);
    expect(off.body.suggestions[0].reason).toMatch(/turned off/);

    await hub.api('PATCH', '/api/v1/identity-merge-rules/email', { autoMerge: true });
    const on = await hub.api('POST', `/api/v1/contacts/${other.body.contact.id}/identities`, { identities: [{ kind: 'email', value: 'wang@example.com', verified: true }] });
    expect(on.body.merges).toHaveLength(1);
    expect(on.body.contact.id).toBe(owner.body.contact.id);
    expect((await hub.api('PATCH', '/api/v1/identity-merge-rules/fax', { autoMerge: true })).status).toBe(400);
  });

  it('documents the identity endpoints in the OpenAPI document', async () => {
    const response = await fetch(`${hub.baseUrl}/api/openapi.json`);
    const document = await response.json();
    for (const path of ['/api/v1/contacts/merge', '/api/v1/contact-merges/{id}/undo', '/api/v1/contacts/{id}/timeline', '/api/v1/conversations/{id}/channels']) {
      expect(document.paths).toHaveProperty([path]);
    }
    expect(document.paths['/api/v1/identity-merge-rules/{kind}'].patch.parameters[0].schema).toEqual({ type: 'string' });
  });

  it('a manual merge is recorded with its author; undo is refused while a later merge depends on it', async () => {
    const make = async (external: string, name: string) =>
      (await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'external_id', value: external }], name })).body.contact.id as string;
    const [c1, c2, c3] = [await make('M-1', 'First'), await make('M-2', 'Second'), await make('M-3', 'Third')];

    const db = hub.runtime.database.db;
    await recordConsent(db, { contactId: c1, channelId: sms.id, status: 'opted_out', source: 'sms:STOP' });

    const first = await hub.api('POST', '/api/v1/contacts/merge', { survivorId: c2, mergedId: c1 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ rule: 'manual', survivorId: c2, mergedId: c1, moved: { mergedBefore: { name: 'First' } } });
    expect(first.body.actorUserId).toEqual(expect.any(String));
    expect(first.body.moved.consents).toHaveLength(1);
    expect(await currentConsent(db, c2, sms.id)).toBe('opted_out');
    const second = await hub.api('POST', '/api/v1/contacts/merge', { survivorId: c3, mergedId: c2 });
    expect(second.status).toBe(201);
    expect((await hub.api('GET', `/api/v1/contacts/${c1}`)).body.id).toBe(c3);

    const refused = await hub.api('POST', `/api/v1/contact-merges/${first.body.id}/undo`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(second.body.id);
    const stale = await hub.api('POST', '/api/v1/contacts/merge', { survivorId: c1, mergedId: c3 });
    expect(stale.status).toBe(409);
    expect((await hub.api('POST', '/api/v1/contacts/merge', { survivorId: c3, mergedId: c3 })).status).toBe(400);

    expect((await hub.api('POST', `/api/v1/contact-merges/${second.body.id}/undo`)).status).toBe(200);
    expect((await hub.api('POST', `/api/v1/contact-merges/${first.body.id}/undo`)).status).toBe(200);
    expect(await currentConsent(db, c1, sms.id)).toBe('opted_out');
    expect(await currentConsent(db, c2, sms.id)).toBe('opted_in');
    for (const [id, name, external] of [[c1, 'First', 'M-1'], [c2, 'Second', 'M-2'], [c3, 'Third', 'M-3']] as const) {
      const contact = await hub.api('GET', `/api/v1/contacts/${id}`);
      expect(contact.body).toMatchObject({ id, name, mergedIntoId: null });
      expect(contact.body.identities.map((i: { value: string }) => i.value)).toEqual([external]);
    }
  });
});
