import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttachment, storeAttachment } from '../../core/attachments/attachment-store.js';
import type { OutboundMessage } from '../../core/channels/contract.js';
import { queueOutboundMessage } from '../../core/messages/outbound.js';
import { startTestHub, waitFor, type TestHub } from '../../test/support/test-hub.js';
import { startFakeWechatApi, type FakeWechatApi } from './fake-wechat-api.js';
import { deliverPush, plaintextPush } from './fake-wechat-push.js';

const account = { appId: 'wx0a1b2c3d4e5f6a7b', appSecret: '9d8c7b6a5f4e3d2c1b0a998877665544', token: 'OutToken' };
const templates = {
  'card-blocked': { templateId: 'TM00015-card-blocked', variables: ['first', 'keyword1', 'remark'], url: 'https://bank.example/cards' },
};
const CUSTOM_SEND = '/cgi-bin/message/custom/send';
const TEMPLATE_SEND = '/cgi-bin/message/template/send';

let hub: TestHub;
let wechatApi: FakeWechatApi;
let channelId: string;

async function createChannel(overrides: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'wechat',
    name: `WeChat ${randomBytes(3).toString('hex')}`,
    config: { ...account, apiBaseUrl: wechatApi.baseUrl, templates, ...overrides },
  });
  if (status !== 201) throw new Error(`channel creation failed: ${status} ${JSON.stringify(body)}`);
  return body.id as string;
}

/** A customer writes in, so a conversation exists and the 48-hour window is open. */
async function openConversation(channel = channelId): Promise<{ conversationId: string; openid: string }> {
  const openid = `oWx${randomBytes(12).toString('base64url')}`;
  const push = plaintextPush(account, {
    ToUserName: 'gh_3a5d2f1c8e77',
    FromUserName: openid,
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'text',
    Content: '请问我的转账到账了吗？',
    MsgId: String(7_400_000_000_000_000_000n + BigInt(randomBytes(4).readUInt32BE())),
  });
  expect((await deliverPush(`${hub.baseUrl}/webhooks/wechat/${channel}`, push)).body).toBe('success');
  const conversationId = await waitFor(async () => {
    const rows = await hub.runtime.database.query<{ conversation_id: string }>(
      sql`select m.conversation_id from messages m join contact_identities i on i.id = m.identity_id
          where i.kind = 'wechat_openid' and i.value = ${openid}`,
    );
    return rows[0]?.conversation_id;
  }, 10_000, 'conversation');
  return { conversationId, openid };
}

const reply = (conversationId: string, text: string) => hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text });

async function finalStatus(messageId: string, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const { body } = await hub.api('GET', `/api/v1/messages/${messageId}`);
    return body.status === status && body;
  }, timeoutMs, `message ${status}`);
}

const sendTools = () => ({ readAttachment: (id: string) => readAttachment(hub.runtime.database.db, id) });
const sendsTo = (openid: string, path = CUSTOM_SEND) => wechatApi.callsTo(path).filter((c) => c.body?.touser === openid);
const tokenFetches = () => wechatApi.callsTo('/cgi-bin/stable_token').length;

beforeAll(async () => {
  hub = await startTestHub();
  wechatApi = await startFakeWechatApi(account);
  channelId = await createChannel();
});
afterAll(async () => {
  await wechatApi?.close();
  await hub?.close();
});

describe('customer-service messages', () => {
  it('an agent reply reaches message/custom/send as a text message and ends sent; the token is fetched once and reused', async () => {
    const { conversationId, openid } = await openConversation();
    const first = await reply(conversationId, '您好，转账已到账');
    expect(first.status).toBe(202);
    await finalStatus(first.body.id, 'sent');
    const fetchesAfterFirst = tokenFetches();
    expect(fetchesAfterFirst).toBeGreaterThanOrEqual(1);

    const second = await reply(conversationId, '还有其他问题吗？');
    await finalStatus(second.body.id, 'sent');
    expect(tokenFetches()).toBe(fetchesAfterFirst);
    expect(sendsTo(openid).map((c) => c.body)).toEqual([
      { touser: openid, msgtype: 'text', text: { content: '您好，转账已到账' } },
      { touser: openid, msgtype: 'text', text: { content: '还有其他问题吗？' } },
    ]);
  });

  it('an expired token (42001) is replaced once and the send repeated', async () => {
    const { conversationId, openid } = await openConversation();
    const issued = wechatApi.tokenIssues;
    wechatApi.expireTokens();
    const sent = await reply(conversationId, 'after expiry');
    await finalStatus(sent.body.id, 'sent');
    expect(sendsTo(openid).map((c) => c.answered)).toEqual([42001, 0]);
    expect(wechatApi.tokenIssues).toBe(issued + 1);
  });

  it('a token revoked in the middle of a batch (40001) causes one refresh, and every message is sent once', async () => {
    const conversations = await Promise.all(Array.from({ length: 6 }, () => openConversation()));
    const before = await Promise.all(conversations.slice(0, 3).map((c) => reply(c.conversationId, 'batch, first half')));
    await Promise.all(before.map((r) => finalStatus(r.body.id, 'sent')));
    const issued = wechatApi.tokenIssues;
    wechatApi.revokeTokens();
    const after = await Promise.all(conversations.map((c) => reply(c.conversationId, 'batch, second half')));
    await Promise.all(after.map((r) => finalStatus(r.body.id, 'sent')));
    expect(wechatApi.tokenIssues).toBe(issued + 1);
    for (const { openid } of conversations) {
      expect(sendsTo(openid).filter((c) => c.answered === 0).map((c) => c.body?.text)).toEqual(
        conversations.indexOf(conversations.find((c) => c.openid === openid)!) < 3
          ? [{ content: 'batch, first half' }, { content: 'batch, second half' }]
          : [{ content: 'batch, second half' }],
      );
    }
  });

  it('50 concurrent sends with an expired token cause one token refresh, whether the cache or WeChat noticed', async () => {
    const { openid } = await openConversation();
    const channel = (await hub.runtime.channels.get(channelId))!;
    const message = (i: number): OutboundMessage => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      conversationId: '00000000-0000-4000-8000-000000000000',
      contentKind: 'text',
      text: `concurrent ${i}`,
      payload: {},
      recipient: { kind: 'wechat_openid', value: openid },
    });
    const sendFifty = () => Promise.all(Array.from({ length: 50 }, (_, i) => channel.adapter.send(message(i), channel.context, sendTools())));

    // The cached token lapsed in the store.
    await channel.context.store.delete('access-token');
    wechatApi.expireTokens();
    let issued = wechatApi.tokenIssues;
    expect((await sendFifty()).every((r) => r.outcome === 'sent')).toBe(true);
    expect(wechatApi.tokenIssues).toBe(issued + 1);

    // The cache still holds a token WeChat has let expire: 50 × 42001, one refresh.
    wechatApi.expireTokens();
    issued = wechatApi.tokenIssues;
    expect((await sendFifty()).every((r) => r.outcome === 'sent')).toBe(true);
    expect(wechatApi.tokenIssues).toBe(issued + 1);
  });

  it('a link message (as a bot or campaign queues it) goes out as a one-article news message', async () => {
    const { openid } = await openConversation();
    const channel = (await hub.runtime.channels.get(channelId))!;
    const result = await channel.adapter.send(
      {
        id: '00000000-0000-4000-8000-00000000a001',
        conversationId: '00000000-0000-4000-8000-000000000000',
        contentKind: 'link',
        text: '信用卡还款指南',
        payload: { link: { url: 'https://bank.example/repay', description: '三步完成还款', pictureUrl: 'https://bank.example/repay.png' } },
        recipient: { kind: 'wechat_openid', value: openid },
      },
      channel.context,
      sendTools(),
    );
    expect(result).toEqual({ outcome: 'sent' });
    expect(sendsTo(openid)[0]!.body).toEqual({
      touser: openid,
      msgtype: 'news',
      news: { articles: [{ title: '信用卡还款指南', description: '三步完成还款', url: 'https://bank.example/repay', picurl: 'https://bank.example/repay.png' }] },
    });
  });

  it('an image message is uploaded through media/upload once and sent as an image', async () => {
    const { conversationId, openid } = await openConversation();
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(3000)]);
    const attachment = await storeAttachment(hub.runtime.database.db, { data: png, contentType: 'image/png', fileName: '还款二维码.png', channelId });
    // Agents have no attachment upload in the REST API yet; a bot or campaign queues such a message like this.
    const message = await hub.runtime.database.db.transaction((tx) =>
      queueOutboundMessage(tx, hub.runtime.adapters, {
        conversationId,
        authorKind: 'bot',
        contentKind: 'image',
        text: null,
        payload: { attachments: [attachment] },
      }),
    );
    wechatApi.force(CUSTOM_SEND, { httpStatus: 502 });
    await hub.runtime.events.publish([
      { type: 'message.created', messageId: message.id, conversationId, contactId: message.contactId, channelId, direction: 'outbound' },
    ]);
    await finalStatus(message.id, 'sent');

    const uploads = wechatApi.callsTo('/cgi-bin/media/upload');
    const ours = uploads.filter((c) => c.body?.fileName === '还款二维码.png');
    // The retry after the 502 reuses the first upload.
    expect(ours).toHaveLength(1);
    const sends = sendsTo(openid);
    expect(sends.map((c) => c.answered)).toEqual([502, 0]);
    const mediaId = (sends[1]!.body as { image: { media_id: string } }).image.media_id;
    expect(sends[1]!.body).toEqual({ touser: openid, msgtype: 'image', image: { media_id: mediaId } });
    expect(wechatApi.media(mediaId)).toMatchObject({ data: png, contentType: 'image/png' });
  });
});

describe('WeChat errors', () => {
  it('45015 (outside the window per WeChat) fails at once with the code shown', async () => {
    const { conversationId, openid } = await openConversation();
    wechatApi.force(CUSTOM_SEND, { errcode: 45015, errmsg: 'response out of time limit or subscription is canceled rid: 6551a2b3-1' });
    const sent = await reply(conversationId, 'too late');
    const failed = await finalStatus(sent.body.id, 'failed');
    expect(failed).toMatchObject({ errorCode: '45015', attempts: 1 });
    expect(failed.errorMessage).toMatch(/45015.*out of time limit/);
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(openid)).toHaveLength(1);
  });

  it('45047 (reply quota for the customer spent) fails with its code', async () => {
    const { conversationId } = await openConversation();
    wechatApi.force(CUSTOM_SEND, { errcode: 45047, errmsg: 'out of response count limit rid: 6551a2b3-2' });
    const sent = await reply(conversationId, 'one too many');
    expect(await finalStatus(sent.body.id, 'failed')).toMatchObject({ errorCode: '45047' });
  });

  it('HTTP 5xx and -1 (system busy) are retried until sent', async () => {
    const { conversationId, openid } = await openConversation();
    wechatApi.force(CUSTOM_SEND, { httpStatus: 502 }, { errcode: -1, errmsg: 'system error' }, { httpStatus: 503 });
    const sent = await reply(conversationId, 'eventually');
    expect(await finalStatus(sent.body.id, 'sent', 20_000)).toMatchObject({ attempts: 4, errorCode: null });
    expect(sendsTo(openid).map((c) => c.answered)).toEqual([502, -1, 503, 0]);
  });

  it('45009 (daily quota) pauses the channel until the quota resets at midnight in China', async () => {
    const pausedChannel = await createChannel();
    const first = await openConversation(pausedChannel);
    const second = await openConversation(pausedChannel);
    wechatApi.force(CUSTOM_SEND, { errcode: 45009, errmsg: 'reach max api daily quota limit rid: 6551a2b3-3' });
    const sent = await reply(first.conversationId, 'quota');
    const nextAttempt = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ status: string; error_code: string; next_attempt_at: Date | null }>(
        sql`select status, error_code, next_attempt_at from messages where id = ${sent.body.id}`,
      );
      return (row?.error_code === '45009' && row.status === 'queued' && row.next_attempt_at) || undefined;
    }, 10_000, 'paused retry');
    const beijing = new Date(Date.now() + 8 * 3_600_000);
    const midnight = Date.UTC(beijing.getUTCFullYear(), beijing.getUTCMonth(), beijing.getUTCDate() + 1) - 8 * 3_600_000;
    expect(Math.abs(new Date(nextAttempt).getTime() - midnight)).toBeLessThan(10_000);

    // Another reply on the paused channel waits too, without calling WeChat.
    const callsBefore = wechatApi.callsTo(CUSTOM_SEND).length;
    const later = await reply(second.conversationId, 'also waits');
    await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ error_code: string | null }>(sql`select error_code from messages where id = ${later.body.id}`);
      return row?.error_code === '45009';
    }, 10_000, 'second message paused');
    expect(wechatApi.callsTo(CUSTOM_SEND).length).toBe(callsBefore);
    expect(sendsTo(second.openid)).toEqual([]);
  });

  it('45009 logs an error for the operators', async () => {
    const quotaChannel = await createChannel();
    const { openid } = await openConversation(quotaChannel);
    const channel = (await hub.runtime.channels.get(quotaChannel))!;
    const alerts: Array<{ details: object; message: string }> = [];
    const logger = { warn: () => {}, error: (details: object, message: string) => alerts.push({ details, message }) };
    wechatApi.force(CUSTOM_SEND, { errcode: 45009, errmsg: 'reach max api daily quota limit rid: 6551a2b3-4' });
    const result = await channel.adapter.send(
      {
        id: '00000000-0000-4000-8000-00000000b001',
        conversationId: '00000000-0000-4000-8000-000000000000',
        contentKind: 'text',
        text: 'quota',
        payload: {},
        recipient: { kind: 'wechat_openid', value: openid },
      },
      { ...channel.context, logger },
      sendTools(),
    );
    expect(result).toMatchObject({ outcome: 'retryable', code: '45009' });
    expect(alerts).toEqual([{ details: expect.objectContaining({ errcode: 45009 }), message: expect.stringMatching(/daily API quota/) }]);
  });
});

describe('the 48-hour window and template messages', () => {
  async function closeWindow(conversationId: string) {
    await hub.runtime.database.query(
      sql`update messages set created_at = now() - interval '49 hours' where conversation_id = ${conversationId} and direction = 'inbound'`,
    );
  }

  it('a reply outside the window is refused with 409 and a hint, and nothing is queued', async () => {
    const { conversationId, openid } = await openConversation();
    await closeWindow(conversationId);
    const refused = await reply(conversationId, 'are you there?');
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('channel_window_closed');
    expect(refused.body.error).toMatch(/48-hour/);
    expect(refused.body.error).toMatch(/template message/);
    const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
    expect(body.items.filter((m: { direction: string }) => m.direction === 'outbound')).toEqual([]);
    expect(sendsTo(openid)).toEqual([]);
  });

  it('a template message goes out through message/template/send with its variables, also outside the window', async () => {
    const { conversationId, openid } = await openConversation();
    await closeWindow(conversationId);
    const variables = { first: '您的信用卡已被临时冻结', keyword1: '尾号 8848', remark: '如非本人操作请致电 95588' };
    const queued = await hub.api('POST', `/api/v1/conversations/${conversationId}/template-messages`, { template: 'card-blocked', variables });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ contentKind: 'template', status: 'queued' });
    const sent = await finalStatus(queued.body.id, 'sent');
    const [call] = sendsTo(openid, TEMPLATE_SEND);
    expect(call!.body).toEqual({
      touser: openid,
      template_id: 'TM00015-card-blocked',
      url: 'https://bank.example/cards',
      data: { first: { value: variables.first }, keyword1: { value: variables.keyword1 }, remark: { value: variables.remark } },
      client_msg_id: queued.body.id,
    });
    expect(sent.providerMessageId).toMatch(/^\d+$/);
  });

  it('a repeated Idempotency-Key sends a template once; the key reused for other variables is a 409', async () => {
    const { conversationId, openid } = await openConversation();
    const headers = { 'idempotency-key': 'notice-7' };
    const variables = { first: '交易提醒', keyword1: '尾号 8848', remark: '如非本人操作请致电 95588' };
    const first = await hub.api('POST', `/api/v1/conversations/${conversationId}/template-messages`, { template: 'card-blocked', variables }, headers);
    const again = await hub.api('POST', `/api/v1/conversations/${conversationId}/template-messages`, { template: 'card-blocked', variables }, headers);
    expect(again.body.id).toBe(first.body.id);
    const other = await hub.api(
      'POST',
      `/api/v1/conversations/${conversationId}/template-messages`,
      { template: 'card-blocked', variables: { ...variables, keyword1: '尾号 0001' } },
      headers,
    );
    expect(other.status).toBe(409);
    expect(other.body.error).toMatch(/different template/);
    await finalStatus(first.body.id, 'sent');
    expect(sendsTo(openid, TEMPLATE_SEND)).toHaveLength(1);
  });

  it('an unknown template or a missing variable fails with a code saying which', async () => {
    const { conversationId, openid } = await openConversation();
    const unknown = await hub.api('POST', `/api/v1/conversations/${conversationId}/template-messages`, { template: 'no-such', variables: {} });
    expect(await finalStatus(unknown.body.id, 'failed')).toMatchObject({ errorCode: 'unknown_template' });
    const missing = await hub.api('POST', `/api/v1/conversations/${conversationId}/template-messages`, {
      template: 'card-blocked',
      variables: { first: 'x' },
    });
    const failed = await finalStatus(missing.body.id, 'failed');
    expect(failed.errorCode).toBe('template_variables');
    expect(failed.errorMessage).toMatch(/keyword1, remark/);
    expect(sendsTo(openid, TEMPLATE_SEND)).toEqual([]);
  });
});

describe('testing the connection', () => {
  it('fetches a token with the configured credentials, and says why when they are wrong', async () => {
    const ok = await hub.api('POST', `/api/v1/channels/${channelId}/test`);
    expect(ok.body).toMatchObject({ ok: true });
    const wrong = await createChannel({ appSecret: 'ffffffffffffffffffffffffffffffff' });
    const refused = await hub.api('POST', `/api/v1/channels/${wrong}/test`);
    expect(refused.body.ok).toBe(false);
    expect(refused.body.message).toMatch(/40125/);
    expect(refused.body.message).not.toContain('ffffffff');
  });
});
