import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApns, type FakeApns } from '../adapters/app-push/fake-apns.js';
import { startFakeFcm, type FakeFcm } from '../adapters/app-push/fake-fcm.js';
import { createAgent } from './support/test-agents.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let fcm: FakeFcm;
let apns: FakeApns;
let channelId: string;
/** The Firebase service account's key, for suites that create a second channel. */
let fcmPrivateKey: string;
const tokenSecret = randomBytes(32).toString('hex');
const fcmAccount = { projectId: 'bank-app-prod', clientEmail: 'push@bank-app-prod.iam.gserviceaccount.com' };
const apnsAccount = { teamId: 'TEAM123456', keyId: 'KEY1234567', topic: 'com.bank.mobile' };

beforeAll(async () => {
  hub = await startTestHub();
  const serviceAccount = await generateKeyPair('RS256', { extractable: true });
  const apnsKey = await generateKeyPair('ES256', { extractable: true });
  fcm = await startFakeFcm({ ...fcmAccount, publicKey: serviceAccount.publicKey });
  apns = await startFakeApns({ ...apnsAccount, publicKey: apnsKey.publicKey });
  fcmPrivateKey = await exportPKCS8(serviceAccount.privateKey);
  const created = await hub.api('POST', '/api/v1/channels', {
    type: 'app',
    name: 'Bank App',
    config: {
      tokenAlgorithm: 'HS256',
      tokenSecret,
      notificationTitle: 'Bank',
      showPreview: true,
      fcmProjectId: fcmAccount.projectId,
      fcmClientEmail: fcmAccount.clientEmail,
      fcmPrivateKey,
      fcmTokenUri: fcm.tokenUri,
      fcmBaseUrl: fcm.baseUrl,
      apnsKey: await exportPKCS8(apnsKey.privateKey),
      apnsKeyId: apnsAccount.keyId,
      apnsTeamId: apnsAccount.teamId,
      apnsTopic: apnsAccount.topic,
      apnsHost: apns.host,
      apnsPort: apns.port,
      apnsCa: apns.ca,
    },
  });
  expect(created.status).toBe(201);
  channelId = created.body.id;
});
afterAll(async () => {
  await fcm?.close();
  await apns?.close();
  await hub?.close();
});

function appToken(sub: string, options: { secret?: string; expiresIn?: string | number } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(options.secret ?? tokenSecret));
}

async function app(method: string, path: string, token: string | undefined, body?: unknown, channel = channelId) {
  const response = await fetch(`${hub.baseUrl}/api/app/v1/channels/${channel}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function contactOf(appUserId: string): Promise<string | undefined> {
  const rows = await hub.runtime.database.query<{ contact_id: string }>(
    sql`select contact_id from contact_identities where kind = 'app_user' and value = ${appUserId}`,
  );
  return rows[0]?.contact_id;
}

async function devicesOf(appUserId: string) {
  return hub.runtime.database.query<{ token: string; active: boolean; deactivated_reason: string | null }>(
    sql`select token, active, deactivated_reason from app_devices where app_user_id = ${appUserId} order by token`,
  );
}

async function count(table: string): Promise<number> {
  const [row] = await hub.runtime.database.query<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return row!.n;
}

/** The app user writes once, so the hub has a conversation an agent can answer. */
async function openConversation(appUserId: string, clientMessageId: string, text = 'hello') {
  const sent = await app('POST', '/messages', await appToken(appUserId), { clientMessageId, text });
  expect(sent.status).toBe(202);
  return waitFor(async () => {
    const contactId = await contactOf(appUserId);
    if (!contactId) return undefined;
    const list = await hub.api('GET', `/api/v1/conversations?contactId=${contactId}`);
    return list.body.items[0] as { id: string; contactId: string } | undefined;
  }, 10_000, 'conversation');
}

async function agentReply(conversationId: string, text: string) {
  const reply = await hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text });
  expect(reply.status).toBe(202);
  return reply.body.id as string;
}

async function messageWithStatus(id: string, status: string) {
  return waitFor(async () => {
    const { body } = await hub.api('GET', `/api/v1/messages/${id}`);
    return body.status === status && body;
  }, 15_000, `message ${status}`);
}

describe('app channel: devices', () => {
  it('registers FCM and APNs devices for a verified app user, and a refresh keeps one row per token', async () => {
    const token = await appToken('cust-1001');
    const android = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-1001' });
    expect(android.status).toBe(200);
    expect(android.body).toMatchObject({ platform: 'fcm', active: true });
    const iphone = await app('POST', '/devices', token, { platform: 'apns', token: 'a1b2c3d4e5f6a7b8c9d0' });
    expect(iphone.status).toBe(200);

    const again = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-1001' });
    expect(again.body.id).toBe(android.body.id);
    const rotated = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-1001-new', replacesToken: 'fcm-token-cust-1001' });
    expect(rotated.status).toBe(200);
    expect(await devicesOf('cust-1001')).toEqual([
      { token: 'a1b2c3d4e5f6a7b8c9d0', active: true, deactivated_reason: null },
      { token: 'fcm-token-cust-1001', active: false, deactivated_reason: 'replaced' },
      { token: 'fcm-token-cust-1001-new', active: true, deactivated_reason: null },
    ]);

    const contact = await hub.api('GET', `/api/v1/contacts/${await contactOf('cust-1001')}`);
    expect(contact.body.identities).toEqual([expect.objectContaining({ kind: 'app_user', value: 'cust-1001', verified: true })]);

    const loggedOut = await app('DELETE', `/devices/${iphone.body.id}`, token);
    expect(loggedOut.body).toMatchObject({ active: false, deactivatedReason: 'unregistered' });
    const foreign = await app('DELETE', `/devices/${android.body.id}`, await appToken('cust-someone-else'));
    expect(foreign.status).toBe(404);
  });

  it('rejects a malformed registration with 400 and stores nothing', async () => {
    const before = await count('app_devices');
    const token = await appToken('cust-1002');
    const noToken = await app('POST', '/devices', token, { platform: 'fcm' });
    expect(noToken.status).toBe(400);
    expect(noToken.body.error).toMatch(/token/);
    const badPlatform = await app('POST', '/devices', token, { platform: 'hms', token: 'some-token-value' });
    expect(badPlatform.status).toBe(400);
    expect(badPlatform.body.error).toMatch(/platform/);
    expect(await count('app_devices')).toBe(before);
  });
});

describe('app channel: messages', () => {
  it('round trip: app message to a conversation, agent reply stored for the app and pushed to FCM and APNs', async () => {
    const token = await appToken('cust-2001');
    await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-2001' });
    await app('POST', '/devices', token, { platform: 'apns', token: 'feedc0de2001' });

    const first = await app('POST', '/messages', token, { clientMessageId: 'c-1', text: '我想查询一笔转账' });
    expect(first.body).toEqual({ accepted: true, clientMessageId: 'c-1', duplicate: false });
    const resent = await app('POST', '/messages', token, { clientMessageId: 'c-1', text: '我想查询一笔转账' });
    expect(resent.body).toEqual({ accepted: true, clientMessageId: 'c-1', duplicate: true });

    const conversation = await openConversation('cust-2001', 'c-2', '转账编号 88231');
    const messages = await waitFor(async () => {
      const { body } = await hub.api('GET', `/api/v1/conversations/${conversation.id}/messages`);
      return body.items.length === 2 && body.items;
    }, 10_000, 'both app messages');
    expect(messages.map((m: any) => [m.direction, m.text])).toEqual([
      ['inbound', '我想查询一笔转账'],
      ['inbound', '转账编号 88231'],
    ]);

    const replyId = await agentReply(conversation.id, '您的转账已到账');
    const sent = await messageWithStatus(replyId, 'sent');
    expect(sent.errorCode).toBeNull();

    const fcmSend = fcm.sends.find((s) => s.token === 'fcm-token-cust-2001');
    expect(fcmSend).toMatchObject({
      status: 200,
      message: {
        token: 'fcm-token-cust-2001',
        notification: { title: 'Bank', body: '您的转账已到账' },
        data: { messageId: replyId, conversationId: conversation.id },
        android: { priority: 'high' },
      },
    });
    const apnsPush = apns.pushes.find((p) => p.deviceToken === 'feedc0de2001');
    expect(apnsPush).toMatchObject({
      status: 200,
      headers: { 'apns-topic': 'com.bank.mobile', 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-id': replyId },
      payload: {
        aps: { alert: { title: 'Bank', body: '您的转账已到账' }, sound: 'default', 'thread-id': conversation.id },
        messageId: replyId,
        conversationId: conversation.id,
      },
    });

    const history = await app('GET', '/messages?limit=2', token);
    expect(history.status).toBe(200);
    expect(history.body.items.map((m: any) => [m.direction, m.text, m.clientMessageId])).toEqual([
      ['outbound', '您的转账已到账', null],
      ['inbound', '转账编号 88231', 'c-2'],
    ]);
    const older = await app('GET', `/messages?limit=2&cursor=${history.body.nextCursor}`, token);
    expect(older.body.items.map((m: any) => m.clientMessageId)).toEqual(['c-1']);
    expect(older.body.nextCursor).toBeNull();

    const read = await app('POST', '/messages/read', token, { messageIds: [replyId] });
    expect(read.body).toEqual({ read: [replyId] });
    await messageWithStatus(replyId, 'read');
    const again = await app('POST', '/messages/read', token, { messageIds: [replyId] });
    expect(again.body).toEqual({ read: [] });
  });

  it('a malformed message gets 400 with the reason, and nothing is stored', async () => {
    const before = await count('inbound_events');
    const token = await appToken('cust-2005');
    const noId = await app('POST', '/messages', token, { text: 'hello' });
    expect(noId.status).toBe(400);
    expect(noId.body.error).toMatch(/clientMessageId/);
    const blank = await app('POST', '/messages', token, { clientMessageId: 'c-blank', text: '   ' });
    expect(blank.status).toBe(400);
    expect(blank.body.error).toMatch(/text must not be empty/);
    const notJson = await fetch(`${hub.baseUrl}/api/app/v1/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"clientMessageId": ',
    });
    expect(notJson.status).toBe(400);
    expect(await count('inbound_events')).toBe(before);
  });

  it('a second push reuses the cached FCM access token', async () => {
    const conversation = await openConversation('cust-2002', 'c-1');
    await app('POST', '/devices', await appToken('cust-2002'), { platform: 'fcm', token: 'fcm-token-cust-2002' });
    const exchangesBefore = fcm.tokenExchanges;
    await messageWithStatus(await agentReply(conversation.id, 'one'), 'sent');
    await messageWithStatus(await agentReply(conversation.id, 'two'), 'sent');
    expect(fcm.sends.filter((s) => s.token === 'fcm-token-cust-2002' && s.status === 200)).toHaveLength(2);
    expect(fcm.tokenExchanges).toBe(exchangesBefore);
    expect(fcm.tokenExchanges).toBeGreaterThan(0);
  });

  it('a read receipt for a message of another app user is refused and changes nothing', async () => {
    const conversation = await openConversation('cust-2003', 'c-1');
    const replyId = await agentReply(conversation.id, 'for cust-2003 only');
    await messageWithStatus(replyId, 'sent');
    const intruder = await app('POST', '/messages/read', await appToken('cust-2004'), { messageIds: [replyId] });
    expect(intruder.status).toBe(404);
    const { body } = await hub.api('GET', `/api/v1/messages/${replyId}`);
    expect(body.status).toBe('sent');
  });
});

describe('app channel: push failures', () => {
  it('FCM UNREGISTERED, APNs BadDeviceToken and 410 deactivate their devices; later sends skip them', async () => {
    const conversation = await openConversation('cust-3001', 'c-1');
    const token = await appToken('cust-3001');
    for (const [platform, deviceToken] of [
      ['fcm', 'fcm-gone-3001'],
      ['fcm', 'fcm-ok-3001'],
      ['apns', 'badbad3001'],
      ['apns', 'gone4103001'],
      ['apns', 'good3001'],
    ]) {
      expect((await app('POST', '/devices', token, { platform, token: deviceToken })).status).toBe(200);
    }
    fcm.failToken('fcm-gone-3001', 'UNREGISTERED');
    apns.failToken('badbad3001', 'BadDeviceToken');
    apns.failToken('gone4103001', 'Unregistered');

    await messageWithStatus(await agentReply(conversation.id, 'first'), 'sent');
    expect(await devicesOf('cust-3001')).toEqual([
      { token: 'badbad3001', active: false, deactivated_reason: 'BadDeviceToken' },
      { token: 'fcm-gone-3001', active: false, deactivated_reason: 'UNREGISTERED' },
      { token: 'fcm-ok-3001', active: true, deactivated_reason: null },
      { token: 'gone4103001', active: false, deactivated_reason: 'Unregistered' },
      { token: 'good3001', active: true, deactivated_reason: null },
    ]);

    await messageWithStatus(await agentReply(conversation.id, 'second'), 'sent');
    const attempts = (deviceToken: string) =>
      [...fcm.sends.map((s) => s.token), ...apns.pushes.map((p) => p.deviceToken)].filter((t) => t === deviceToken).length;
    expect([attempts('fcm-gone-3001'), attempts('badbad3001'), attempts('gone4103001')]).toEqual([1, 1, 1]);
    expect([attempts('fcm-ok-3001'), attempts('good3001')]).toEqual([2, 2]);
  });

  it('FCM 503 and APNs 429 are retried with backoff; a device already reached is not notified twice', async () => {
    const conversation = await openConversation('cust-3002', 'c-1');
    const token = await appToken('cust-3002');
    await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-flaky-3002' });
    await app('POST', '/devices', token, { platform: 'apns', token: 'busy3002' });
    await app('POST', '/devices', token, { platform: 'apns', token: 'fine3002' });
    fcm.failToken('fcm-flaky-3002', 'UNAVAILABLE', 1);
    apns.failToken('busy3002', 'TooManyRequests', 1);

    const replyId = await agentReply(conversation.id, 'retry me');
    const sent = await messageWithStatus(replyId, 'sent');
    expect(sent.attempts).toBe(2);
    expect(fcm.sends.filter((s) => s.token === 'fcm-flaky-3002').map((s) => s.status)).toEqual([503, 200]);
    expect(apns.pushes.filter((p) => p.deviceToken === 'busy3002').map((p) => p.status)).toEqual([429, 200]);
    expect(apns.pushes.filter((p) => p.deviceToken === 'fine3002').map((p) => p.status)).toEqual([200]);
    expect((await devicesOf('cust-3002')).every((d) => d.active)).toBe(true);
  });

  it('an app user without devices still gets the message stored as sent, for the app to fetch', async () => {
    const conversation = await openConversation('cust-3003', 'c-1');
    const replyId = await agentReply(conversation.id, 'no phone registered');
    await messageWithStatus(replyId, 'sent');
    const history = await app('GET', '/messages', await appToken('cust-3003'));
    expect(history.body.items[0]).toMatchObject({ id: replyId, text: 'no phone registered', status: 'sent' });
  });
});

describe('app channel: authentication', () => {
  it('forged, expired or incomplete app tokens get 401 with a reason, and nothing is stored', async () => {
    const events = await count('inbound_events');
    const devices = await count('app_devices');
    const identities = await count('contact_identities');
    const body = { clientMessageId: 'forged-1', text: 'transfer everything' };

    const expired = await appToken('cust-4001', { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const forged = await appToken('cust-4001', { secret: randomBytes(32).toString('hex') });
    const noExpiry = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('cust-4001').sign(new TextEncoder().encode(tokenSecret));
    const noSubject = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(tokenSecret));
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'cust-4001', exp: 9_999_999_999 })).toString('base64url')}.`;

    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /Authorization: Bearer/],
      [expired, /expired/],
      [forged, /signature/],
      [noExpiry, /exp/],
      [noSubject, /sub/],
      [unsigned, /HS256|not a valid/],
      ['not-a-jwt', /not a valid JWT/],
    ];
    for (const [token, reason] of cases) {
      const message = await app('POST', '/messages', token, body);
      expect(message.status).toBe(401);
      expect(message.body.error).toMatch(reason);
      const device = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-forged' });
      expect(device.status).toBe(401);
      expect((await app('GET', '/messages', token)).status).toBe(401);
    }
    expect(await count('inbound_events')).toBe(events);
    expect(await count('app_devices')).toBe(devices);
    expect(await count('contact_identities')).toBe(identities);
  });

  it('a channel keyed with an ES256 public key accepts the bank backend tokens and refuses HS256 tokens keyed with that public key', async () => {
    const bankKey = await generateKeyPair('ES256', { extractable: true });
    const publicPem = await exportSPKI(bankKey.publicKey);
    const created = await hub.api('POST', '/api/v1/channels', {
      type: 'app',
      name: 'Broker App',
      config: { tokenAlgorithm: 'ES256', tokenPublicKey: publicPem, tokenIssuer: 'https://broker.example', fcmProjectId: fcmAccount.projectId, fcmClientEmail: fcmAccount.clientEmail, fcmPrivateKey: '-----BEGIN PRIVATE KEY-----\nunused\n-----END PRIVATE KEY-----\n' },
    });
    expect(created.status).toBe(201);
    const signed = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('broker-77').setIssuer('https://broker.example').setExpirationTime('5m').sign(bankKey.privateKey);
    const ok = await app('POST', '/devices', signed, { platform: 'fcm', token: 'fcm-broker-77' }, created.body.id);
    expect(ok.status).toBe(200);

    const apnsOnAndroidOnly = await app('POST', '/devices', signed, { platform: 'apns', token: 'cafe7700cafe7700' }, created.body.id);
    expect(apnsOnAndroidOnly.status).toBe(400);
    expect(apnsOnAndroidOnly.body.error).toMatch(/APNS/);

    const confused = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('broker-77').setIssuer('https://broker.example').setExpirationTime('5m').sign(new TextEncoder().encode(publicPem));
    const refused = await app('POST', '/devices', confused, { platform: 'fcm', token: 'fcm-broker-evil' }, created.body.id);
    expect(refused.status).toBe(401);
    const wrongIssuer = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('broker-77').setIssuer('https://evil.example').setExpirationTime('5m').sign(bankKey.privateKey);
    const refusedIssuer = await app('POST', '/devices', wrongIssuer, { platform: 'fcm', token: 'fcm-broker-evil' }, created.body.id);
    expect(refusedIssuer.status).toBe(401);
    expect(refusedIssuer.body.error).toMatch(/iss/);
  });
});

describe('app channel: configuration', () => {
  it('an unknown channel is a 404 and a disabled one a 403', async () => {
    const token = await appToken('cust-5001');
    const unknown = await app('GET', '/messages', token, undefined, '6b0d2d4e-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect((await app('GET', '/messages', token, undefined, 'not-a-uuid')).status).toBe(404);

    const other = await hub.api('POST', '/api/v1/channels', { type: 'app', name: 'Retired App', config: { tokenAlgorithm: 'HS256', tokenSecret } });
    expect((await app('GET', '/messages', token, undefined, other.body.id)).status).toBe(200);
    await hub.api('POST', `/api/v1/channels/${other.body.id}/disable`);
    const disabled = await app('POST', '/messages', token, { clientMessageId: 'c-1', text: 'anyone?' }, other.body.id);
    expect(disabled.status).toBe(403);
    expect(disabled.body.error).toMatch(/disabled/);
  });

  it('never returns the push credentials or the token secret, and refuses half a provider config', async () => {
    const { body } = await hub.api('GET', `/api/v1/channels/${channelId}`);
    expect(body.secretsSet.sort()).toEqual(['apnsKey', 'fcmPrivateKey', 'tokenSecret']);
    const text = JSON.stringify(body);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(tokenSecret);

    const half = await hub.api('POST', '/api/v1/channels', {
      type: 'app',
      name: 'Half',
      config: { tokenAlgorithm: 'HS256', tokenSecret, apnsKeyId: 'KEY1234567' },
    });
    expect(half.status).toBe(400);
    expect(half.body.error).toMatch(/apnsKey: required together with apnsKeyId/);
  });

  it('the webhook path of an app channel points the caller to the app API', async () => {
    const response = await fetch(`${hub.baseUrl}/webhooks/app/${channelId}`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect((await response.json()).error).toMatch(/\/api\/app\/v1\/channels\//);
  });
});

describe('app channel: devices in the admin API', () => {
  it('lists a contact’s devices with platform, last seen, and why and when an inactive one stopped, without push tokens', async () => {
    const token = await appToken('cust-5001');
    const first = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-5001-a' });
    const rotated = await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-5001-b', replacesToken: 'fcm-token-cust-5001-a' });
    const iphone = await app('POST', '/devices', token, { platform: 'apns', token: 'cafe5001' });
    expect((await app('DELETE', `/devices/${iphone.body.id}`, token)).status).toBe(200);
    const contactId = (await contactOf('cust-5001'))!;

    // Agents read a contact only through a conversation of theirs (need to know); a supervisor reads any.
    const stranger = await createAgent(hub, 'devices.agent@bank.test');
    expect((await stranger.api('GET', `/api/v1/contacts/${contactId}/devices`)).status).toBe(403);
    const agent = await createAgent(hub, 'devices.supervisor@bank.test', undefined, 'supervisor');
    const listed = await agent.api('GET', `/api/v1/contacts/${contactId}/devices`);
    expect(listed.status).toBe(200);
    expect(listed.body.contactId).toBe(contactId);
    const byId = new Map(listed.body.items.map((d: any) => [d.id, d]));
    expect(listed.body.items[0]).toEqual({
      id: rotated.body.id,
      channelId,
      channelName: 'Bank App',
      appUserId: 'cust-5001',
      platform: 'fcm',
      active: true,
      deactivatedReason: null,
      deactivatedAt: null,
      lastSeenAt: rotated.body.lastSeenAt,
      createdAt: rotated.body.createdAt,
    });
    expect(byId.get(first.body.id)).toMatchObject({ platform: 'fcm', active: false, deactivatedReason: 'replaced', deactivatedAt: expect.any(String) });
    expect(byId.get(iphone.body.id)).toMatchObject({ platform: 'apns', active: false, deactivatedReason: 'unregistered', deactivatedAt: expect.any(String) });
    expect(listed.body.items).toHaveLength(3);
    expect(JSON.stringify(listed.body)).not.toContain('fcm-token-cust-5001');
    expect(JSON.stringify(listed.body)).not.toContain('cafe5001');

    // A device the provider reports invalid shows the provider's code, as the docs promise.
    const conversation = await openConversation('cust-5001', 'c-1');
    fcm.failToken('fcm-token-cust-5001-b', 'UNREGISTERED');
    await messageWithStatus(await agentReply(conversation.id, 'are you there?'), 'sent');
    const after = await hub.api('GET', `/api/v1/contacts/${contactId}/devices`);
    expect(after.body.items.find((d: any) => d.id === rotated.body.id)).toMatchObject({ active: false, deactivatedReason: 'UNREGISTERED' });

    expect((await hub.api('GET', '/api/v1/contacts/00000000-0000-4000-8000-000000000000/devices')).status).toBe(404);
    expect((await hub.api('GET', `/api/v1/contacts/${(await contactOf('cust-2003'))!}/devices`)).body.items).toEqual([]);
  });
});

describe('app channel: push texts', () => {
  let quietId: string;

  beforeAll(async () => {
    // Another bank app with neither preview nor a body of its own, which keeps queue notices off the lock screen.
    const created = await hub.api('POST', '/api/v1/channels', {
      type: 'app',
      name: '招商银行',
      config: {
        tokenAlgorithm: 'HS256',
        tokenSecret,
        pushQueueNotices: false,
        fcmProjectId: fcmAccount.projectId,
        fcmClientEmail: fcmAccount.clientEmail,
        fcmPrivateKey,
        fcmTokenUri: fcm.tokenUri,
        fcmBaseUrl: fcm.baseUrl,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.config).toMatchObject({ pushQueueNotices: false, showPreview: false });
    expect(created.body.config.notificationBody).toBeUndefined();
    quietId = created.body.id;
    // Queue notices are on in the product; this file's other suites count exactly what is sent.
    expect((await hub.api('PATCH', '/api/v1/routing/settings', { queueNotice: { enabled: true } })).status).toBe(200);
  });
  afterAll(async () => {
    await hub.api('PATCH', '/api/v1/routing/settings', { queueNotice: { enabled: false } });
  });

  /** The app user writes on the quiet channel; returns their conversation once it exists. */
  async function writeOnQuiet(appUserId: string, text: string) {
    const token = await appToken(appUserId);
    expect((await app('POST', '/messages', token, { clientMessageId: `q-${appUserId}`, text }, quietId)).status).toBe(202);
    return waitFor(async () => {
      const contactId = await contactOf(appUserId);
      const list = contactId && (await hub.api('GET', `/api/v1/conversations?contactId=${contactId}`));
      return list ? (list.body.items[0] as { id: string } | undefined) : undefined;
    }, 10_000, 'conversation');
  }

  it('the default notification body is in the customer’s language, Chinese unless the contact speaks English', async () => {
    const zh = await appToken('cust-6001');
    const en = await appToken('cust-6002');
    expect((await app('POST', '/devices', zh, { platform: 'fcm', token: 'fcm-token-cust-6001' }, quietId)).status).toBe(200);
    expect((await app('POST', '/devices', en, { platform: 'fcm', token: 'fcm-token-cust-6002' }, quietId)).status).toBe(200);
    const english = await hub.api('PATCH', `/api/v1/contacts/${(await contactOf('cust-6002'))!}`, { language: 'en-GB' });
    expect(english.status).toBe(200);

    for (const [appUserId, text, body] of [
      ['cust-6001', '我的账户被冻结了', '您有一条新消息'],
      ['cust-6002', 'My account is frozen', 'You have a new message'],
    ] as const) {
      const conversation = await writeOnQuiet(appUserId, text);
      // The customer waits (nobody is online): the queue notice is stored for the app, not pushed.
      const notice = await waitFor(async () => {
        const history = await app('GET', '/messages', await appToken(appUserId), undefined, quietId);
        return history.body.items.find((m: any) => m.payload?.queueNotice && m.status === 'sent');
      }, 10_000, 'queue notice in the app history');
      expect(notice).toMatchObject({ authorKind: 'system', payload: { queueNotice: { position: expect.any(Number), ahead: expect.any(Number), minutes: expect.any(Number) } } });
      expect(notice.text).toMatch(appUserId === 'cust-6002' ? /^You are number \d+ in the queue/ : /^您已进入人工客服排队/);
      expect(fcm.sends.filter((s) => s.token === `fcm-token-${appUserId}`)).toEqual([]);

      const replyId = await agentReply(conversation.id, '已为您解冻');
      await messageWithStatus(replyId, 'sent');
      const pushes = fcm.sends.filter((s) => s.token === `fcm-token-${appUserId}`);
      expect(pushes).toHaveLength(1);
      expect(pushes[0]!.message).toMatchObject({ notification: { title: '招商银行', body }, data: { messageId: replyId, conversationId: conversation.id } });
    }
  });

  it('a channel that keeps queue notices in pushes notifies the waiting customer of their place', async () => {
    const token = await appToken('cust-6003');
    await app('POST', '/devices', token, { platform: 'fcm', token: 'fcm-token-cust-6003' });
    await openConversation('cust-6003', 'c-1', '请问排队要多久');
    const push = await waitFor(async () => fcm.sends.find((s) => s.token === 'fcm-token-cust-6003'), 10_000, 'queue notice push');
    // That channel shows previews, so the notice itself is the notification's text.
    expect((push.message as any).notification.body).toMatch(/^您已进入人工客服排队，前面还有 \d+ 位客户/);
  });
});
