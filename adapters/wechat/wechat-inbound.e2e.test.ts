import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, waitFor, type TestHub } from '../../test/support/test-hub.js';
import { startFakeWechatApi, type FakeWechatApi } from './fake-wechat-api.js';
import { deliverPush, encryptedPush, plaintextPush, signedEnvelope } from './fake-wechat-push.js';
import { computeSignature, decodeAesKey, encryptMessage } from './wechat-crypto.js';
import { buildWechatXml } from './wechat-xml.js';

const vectors = JSON.parse(readFileSync(new URL('../../test/fixtures/wechat-vectors.json', import.meta.url), 'utf8')) as {
  encrypt: { token: string; encodingAESKey: string; appId: string; timestamp: string; nonce: string; ciphertext: string; plainModeSignature: string };
  verifyUrl: { token: string; encodingAESKey: string; appId: string; msg_signature: string; timestamp: string; nonce: string; echostr: string; expectedPlaintext: string };
};

const appSecret = 'f1c2d3e4b5a6978812345678abcdef01';
const safeAccount = { appId: 'wx1234567890abcdef', token: 'HubToken2024', encodingAESKey: 'Q2hpbmFCYW5rQ3VzdG9tZXJDYXJlSHViS2V5MDEyMzQ' };
const previousKey = 'T2xkS2V5T2xkS2V5T2xkS2V5T2xkS2V5T2xkS2V5MDE';
const plainAccount = { appId: 'wxfedcba0987654321', token: 'PlainToken' };

let hub: TestHub;
let wechatApi: FakeWechatApi;
let safeChannel: string;
let plainChannel: string;

async function createChannel(config: Record<string, unknown>): Promise<string> {
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'wechat',
    name: `WeChat ${randomBytes(3).toString('hex')}`,
    config: { appSecret, apiBaseUrl: wechatApi.baseUrl, ...config },
  });
  if (status !== 201) throw new Error(`channel creation failed: ${status} ${JSON.stringify(body)}`);
  return body.id as string;
}

const webhook = (channelId: string) => `${hub.baseUrl}/webhooks/wechat/${channelId}`;
const openid = () => `oWx${randomBytes(12).toString('base64url')}`;
let msgIds = 7_300_000_000_000_000_000n;
const nextMsgId = () => String(++msgIds);

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await hub.runtime.database.query<{ n: number }>(query);
  return row!.n;
}
const eventCount = () => count(sql`select count(*)::int as n from inbound_events`);

async function messagesFrom(user: string) {
  const rows = await hub.runtime.database.query<{ conversation_id: string }>(
    sql`select m.conversation_id from messages m join contact_identities i on i.id = m.identity_id
        where i.kind = 'wechat_openid' and i.value = ${user} limit 1`,
  );
  if (!rows[0]) return [];
  const { body } = await hub.api('GET', `/api/v1/conversations/${rows[0].conversation_id}/messages`);
  return body.items as Array<{ id: string; contentKind: string; text: string | null; payload: Record<string, any>; providerMessageId: string | null; direction: string }>;
}
const firstMessageFrom = (user: string) => waitFor(async () => (await messagesFrom(user))[0], 10_000, `message from ${user}`);

const textMessage = (from: string, content: string, msgId = nextMsgId()) => ({
  ToUserName: 'gh_3a5d2f1c8e77',
  FromUserName: from,
  CreateTime: Math.floor(Date.now() / 1000),
  MsgType: 'text',
  Content: content,
  MsgId: msgId,
});

beforeAll(async () => {
  hub = await startTestHub();
  wechatApi = await startFakeWechatApi({ appId: safeAccount.appId, appSecret });
  safeChannel = await createChannel({ ...safeAccount, previousEncodingAESKey: previousKey });
  plainChannel = await createChannel(plainAccount);
});
afterAll(async () => {
  await wechatApi?.close();
  await hub?.close();
});

describe('server verification (GET)', () => {
  it('echoes echostr for a correct signature and refuses a wrong one with 403', async () => {
    const timestamp = '1700000000';
    const nonce = '42424242';
    const signature = computeSignature([plainAccount.token, timestamp, nonce]);
    const ok = await fetch(`${webhook(plainChannel)}?${new URLSearchParams({ signature, timestamp, nonce, echostr: '5837206381960312' })}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('5837206381960312');

    const forged = await fetch(`${webhook(plainChannel)}?${new URLSearchParams({ signature: 'a'.repeat(40), timestamp, nonce, echostr: 'x' })}`);
    expect(forged.status).toBe(403);
    expect(await forged.text()).not.toContain('x');
  });

  it('decrypts the official safe-mode echostr vector', async () => {
    const v = vectors.verifyUrl;
    const channel = await createChannel({ appId: v.appId, token: v.token, encodingAESKey: v.encodingAESKey });
    const query = new URLSearchParams({ msg_signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce, echostr: v.echostr });
    const response = await fetch(`${webhook(channel)}?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(v.expectedPlaintext);

    query.set('msg_signature', computeSignature([v.token, v.timestamp, v.nonce, 'tampered']));
    expect((await fetch(`${webhook(channel)}?${query}`)).status).toBe(403);
  });
});

describe('message delivery (POST)', () => {
  it('takes the official ciphertext vector through signature checks and decryption', async () => {
    const v = vectors.encrypt;
    const channel = await createChannel({ appId: v.appId, token: v.token, encodingAESKey: v.encodingAESKey });
    const push = signedEnvelope(v, { timestamp: v.timestamp, nonce: v.nonce }, v.ciphertext);
    expect(push.query.signature).toBe(v.plainModeSignature);
    // The vector's plaintext is a bare string, not a message: decryption and the appid check
    // succeed, and only then is the content refused.
    const response = await deliverPush(webhook(channel), push);
    expect(response).toMatchObject({ status: 400, body: 'the decrypted message is not WeChat XML' });

    // The same ciphertext for an account with another AppID fails the appid check, with the
    // one answer every decryption failure gets.
    const otherApp = await createChannel({ appId: 'wx00000000000000aa', token: v.token, encodingAESKey: v.encodingAESKey });
    expect(await deliverPush(webhook(otherApp), push)).toMatchObject({ status: 400, body: 'message could not be decrypted' });
  });

  it('stores a safe-mode text message and answers success; the customer appears with a verified, channel-scoped openid', async () => {
    const user = openid();
    const response = await deliverPush(webhook(safeChannel), encryptedPush(safeAccount, textMessage(user, '我的信用卡被冻结了')));
    expect(response).toMatchObject({ status: 200, body: 'success' });
    expect(response.ms).toBeLessThan(5_000);

    const message = await firstMessageFrom(user);
    expect(message).toMatchObject({ contentKind: 'text', text: '我的信用卡被冻结了', direction: 'inbound' });
    const [identity] = await hub.runtime.database.query<{ verified: boolean; scope: string }>(
      sql`select verified, scope from contact_identities where kind = 'wechat_openid' and value = ${user}`,
    );
    expect(identity).toEqual({ verified: true, scope: safeChannel });
  });

  it('accepts a message encrypted with the previous EncodingAESKey during a key change', async () => {
    const user = openid();
    const response = await deliverPush(webhook(safeChannel), encryptedPush(safeAccount, textMessage(user, 'old key'), { key: previousKey }));
    expect(response).toMatchObject({ status: 200, body: 'success' });
    expect((await firstMessageFrom(user)).text).toBe('old key');
  });

  it('in compatible mode trusts the signed ciphertext, not the plaintext fields beside it', async () => {
    const user = openid();
    const push = encryptedPush(safeAccount, textMessage(user, 'the real text'));
    const forgedPlain = buildWechatXml({ ...textMessage(user, 'forged plaintext'), Encrypt: /<Encrypt><!\[CDATA\[(.*?)\]\]>/.exec(push.body)![1]! });
    expect((await deliverPush(webhook(safeChannel), { ...push, body: forgedPlain })).status).toBe(200);
    expect((await firstMessageFrom(user)).text).toBe('the real text');
  });

  it('stores a plaintext-mode message', async () => {
    const user = openid();
    expect(await deliverPush(webhook(plainChannel), plaintextPush(plainAccount, textMessage(user, 'plain hello')))).toMatchObject({ status: 200, body: 'success' });
    expect((await firstMessageFrom(user)).text).toBe('plain hello');
  });

  it('refuses wrong signatures with 403 and stores nothing', async () => {
    const before = await eventCount();
    const user = openid();
    const wrongToken = encryptedPush({ ...safeAccount, token: 'NotTheToken' }, textMessage(user, 'x'));
    expect((await deliverPush(webhook(safeChannel), wrongToken)).status).toBe(403);

    // A valid query signature does not vouch for a swapped ciphertext: msg_signature does.
    const genuine = encryptedPush(safeAccount, textMessage(user, 'genuine'));
    const other = encryptedPush(safeAccount, textMessage(user, 'swapped'));
    const swapped = { query: genuine.query, body: other.body };
    expect(await deliverPush(webhook(safeChannel), swapped)).toMatchObject({ status: 403, body: 'msg_signature does not match' });

    const unsigned = await fetch(webhook(plainChannel), { method: 'POST', body: buildWechatXml(textMessage(user, 'x')) });
    expect(unsigned.status).toBe(403);
    expect(await eventCount()).toBe(before);
    expect(await messagesFrom(user)).toEqual([]);
  });

  it('answers bad padding and a foreign key with the same 400, storing nothing', async () => {
    const before = await eventCount();
    const timing = { timestamp: String(Math.floor(Date.now() / 1000)), nonce: '1' };
    // Correctly signed, but not a ciphertext of this account: garbage padding after decryption.
    const garbage = signedEnvelope(safeAccount, timing, randomBytes(64).toString('base64'));
    const foreignKey = encryptedPush(safeAccount, textMessage(openid(), 'x'), { key: vectors.verifyUrl.encodingAESKey });
    const answers = await Promise.all([deliverPush(webhook(safeChannel), garbage), deliverPush(webhook(safeChannel), foreignKey)]);
    expect(answers.map((a) => [a.status, a.body])).toEqual([
      [400, 'message could not be decrypted'],
      [400, 'message could not be decrypted'],
    ]);
    expect(await eventCount()).toBe(before);
  });

  it('refuses XXE, entity bombs and oversized bodies quickly and stores nothing', async () => {
    const before = await eventCount();
    const apiCallsBefore = wechatApi.calls.length;
    const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>`;
    const levels = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${levels}]><xml><Content>&lol9;</Content></xml>`;
    const signedPlain = (body: string) => ({ ...plaintextPush(plainAccount, {}), body });

    for (const body of [xxe, lol]) {
      const response = await deliverPush(webhook(plainChannel), signedPlain(body));
      expect(response.status).toBe(400);
      expect(response.body).toMatch(/DOCTYPE/);
      expect(response.ms).toBeLessThan(500);
    }
    // The same, hidden inside a validly signed ciphertext.
    const timing = { timestamp: String(Math.floor(Date.now() / 1000)), nonce: '7' };
    const inner = encryptMessage({ aesKey: decodeAesKey(safeAccount.encodingAESKey), appId: safeAccount.appId, plaintext: xxe });
    expect((await deliverPush(webhook(safeChannel), signedEnvelope(safeAccount, timing, inner))).status).toBe(400);

    const huge = await deliverPush(webhook(plainChannel), signedPlain(`<xml><Content>${'A'.repeat(10 * 1024 * 1024)}</Content></xml>`));
    expect(huge.status).toBe(413);
    expect(huge.ms).toBeLessThan(2_000);
    const overCap = await deliverPush(webhook(plainChannel), signedPlain(`<xml><Content>${'A'.repeat(100 * 1024)}</Content></xml>`));
    expect(overCap.status).toBe(413);

    expect(await eventCount()).toBe(before);
    expect(wechatApi.calls.length).toBe(apiCallsBefore);
    // Still serving.
    const user = openid();
    expect((await deliverPush(webhook(plainChannel), plaintextPush(plainAccount, textMessage(user, 'after the attack')))).status).toBe(200);
    expect((await firstMessageFrom(user)).text).toBe('after the attack');
  });
});

describe('retries from WeChat', () => {
  it('4 concurrent deliveries of one MsgId yield one message', async () => {
    const user = openid();
    const fields = textMessage(user, 'once please');
    // WeChat retries with new timestamps and nonces, so each retry is signed anew.
    const answers = await Promise.all(Array.from({ length: 4 }, () => deliverPush(webhook(safeChannel), encryptedPush(safeAccount, fields))));
    expect(answers.map((a) => a.body)).toEqual(['success', 'success', 'success', 'success']);
    await firstMessageFrom(user);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await messagesFrom(user)).map((m) => m.providerMessageId)).toEqual([fields.MsgId]);
  });

  it('4 deliveries of one MsgId spread over 15 seconds yield one message', { timeout: 30_000 }, async () => {
    const user = openid();
    const fields = textMessage(user, 'retried slowly');
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 5_000));
      expect((await deliverPush(webhook(plainChannel), plaintextPush(plainAccount, fields))).body).toBe('success');
    }
    expect((await messagesFrom(user)).map((m) => m.text)).toEqual(['retried slowly']);
  });

  it('concurrent retries of an event (no MsgId) yield one event message', async () => {
    const user = openid();
    const subscribe = { ToUserName: 'gh_3a5d2f1c8e77', FromUserName: user, CreateTime: 1_700_000_123, MsgType: 'event', Event: 'subscribe', EventKey: '' };
    await Promise.all(Array.from({ length: 4 }, () => deliverPush(webhook(plainChannel), plaintextPush(plainAccount, subscribe))));
    await firstMessageFrom(user);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await messagesFrom(user)).toHaveLength(1);
  });
});

describe('normalizing every message type', () => {
  async function deliver(user: string, fields: Record<string, string | number>) {
    const base = { ToUserName: 'gh_3a5d2f1c8e77', FromUserName: user, CreateTime: Math.floor(Date.now() / 1000) };
    const push = encryptedPush(safeAccount, { ...base, ...fields });
    const before = (await messagesFrom(user)).length;
    expect((await deliverPush(webhook(safeChannel), push)).body).toBe('success');
    // One at a time, so the conversation lists them in the order they were sent.
    await waitFor(async () => (await messagesFrom(user)).length > before, 10_000, `${fields.MsgType} processed`);
  }
  async function download(attachmentId: string): Promise<Buffer> {
    const response = await fetch(`${hub.baseUrl}/api/v1/attachments/${attachmentId}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  }

  it('image, voice with recognition, video and short video are fetched through the media API and stored', async () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2048)]);
    const amr = Buffer.concat([Buffer.from('#!AMR\n'), randomBytes(1024)]);
    const mp4 = randomBytes(4096);
    wechatApi.addMedia('img-media-1', { data: jpeg, contentType: 'image/jpeg', fileName: 'img-media-1.jpg' });
    wechatApi.addMedia('voice-media-1', { data: amr, contentType: 'audio/amr', fileName: 'voice-media-1.amr' });
    wechatApi.addMedia('video-media-1', { data: mp4, contentType: 'video/mp4', fileName: 'video.mp4', asVideoLink: true });

    const user = openid();
    await deliver(user, { MsgType: 'image', PicUrl: 'http://mmbiz.qpic.cn/x', MediaId: 'img-media-1', MsgId: nextMsgId() });
    await deliver(user, { MsgType: 'voice', MediaId: 'voice-media-1', Format: 'amr', Recognition: '查询余额', MsgId: nextMsgId() });
    await deliver(user, { MsgType: 'video', MediaId: 'video-media-1', ThumbMediaId: 't', MsgId: nextMsgId() });
    await deliver(user, { MsgType: 'shortvideo', MediaId: 'expired-media', ThumbMediaId: 't', MsgId: nextMsgId() });

    const [image, voice, video, short] = (await messagesFrom(user)) as [any, any, any, any];
    expect(image.contentKind).toBe('image');
    expect(await download(image.payload.attachments[0].id)).toEqual(jpeg);
    expect(voice).toMatchObject({ contentKind: 'audio', text: '查询余额' });
    expect(await download(voice.payload.attachments[0].id)).toEqual(amr);
    expect(video.contentKind).toBe('video');
    expect(await download(video.payload.attachments[0].id)).toEqual(mp4);
    // A media id WeChat no longer has still leaves the message, marked as such.
    expect(short).toMatchObject({ contentKind: 'video', payload: { short: true, mediaUnavailable: true } });
  });

  it('location, link and the events subscribe (QR scene), SCAN, CLICK, VIEW, LOCATION, unsubscribe', async () => {
    const user = openid();
    await deliver(user, { MsgType: 'location', Location_X: '31.2304', Location_Y: '121.4737', Scale: '15', Label: '上海市黄浦区', MsgId: nextMsgId() });
    await deliver(user, { MsgType: 'link', Title: '理财产品', Description: '年化3.2%', Url: 'https://bank.example/p/1', MsgId: nextMsgId() });
    const events: Array<Record<string, string>> = [
      { Event: 'subscribe', EventKey: 'qrscene_branch-0021', Ticket: 'gQH47joAAAAA' },
      { Event: 'SCAN', EventKey: 'branch-0042', Ticket: 'gQH47joBBBBB' },
      { Event: 'CLICK', EventKey: 'MENU_BALANCE' },
      { Event: 'VIEW', EventKey: 'https://bank.example/cards' },
      { Event: 'LOCATION', Latitude: '23.137466', Longitude: '113.352425', Precision: '119.385040' },
      { Event: 'unsubscribe', EventKey: '' },
    ];
    for (const [i, event] of events.entries()) {
      await deliver(user, { MsgType: 'event', ...event, CreateTime: 1_700_001_000 + i });
    }
    expect((await messagesFrom(user)).map((m) => [m.contentKind, m.text, m.payload])).toEqual([
      ['location', '上海市黄浦区', { location: { latitude: 31.2304, longitude: 121.4737, scale: 15, label: '上海市黄浦区' } }],
      ['link', '理财产品', { link: { title: '理财产品', description: '年化3.2%', url: 'https://bank.example/p/1' } }],
      ['event', null, { event: 'subscribe', scene: 'branch-0021', ticket: 'gQH47joAAAAA' }],
      ['event', null, { event: 'scan', scene: 'branch-0042', ticket: 'gQH47joBBBBB' }],
      ['event', null, { event: 'menu_click', key: 'MENU_BALANCE' }],
      ['event', null, { event: 'menu_view', url: 'https://bank.example/cards' }],
      ['event', null, { event: 'location', location: { latitude: 23.137466, longitude: 113.352425, precision: 119.38504 } }],
      ['event', null, { event: 'unsubscribe' }],
    ]);
  });
});

describe('channel configuration', () => {
  it('never returns the secrets, and names which are set', async () => {
    const { body } = await hub.api('GET', `/api/v1/channels/${safeChannel}`);
    expect(JSON.stringify(body)).not.toContain(safeAccount.token);
    expect(JSON.stringify(body)).not.toContain(appSecret);
    expect(JSON.stringify(body)).not.toContain(safeAccount.encodingAESKey);
    expect(body.secretsSet.sort()).toEqual(['appSecret', 'encodingAESKey', 'previousEncodingAESKey', 'token']);
    expect(body.config).toMatchObject({ appId: safeAccount.appId, apiBaseUrl: wechatApi.baseUrl });
  });

  it('refuses an invalid config with a message naming the field', async () => {
    const { status, body } = await hub.api('POST', '/api/v1/channels', {
      type: 'wechat',
      name: 'broken',
      config: { appId: 'wx1234567890abcdef', appSecret, token: 'tok', encodingAESKey: 'too-short' },
    });
    expect(status).toBe(400);
    expect(body.error).toMatch(/encodingAESKey/);
  });
});
