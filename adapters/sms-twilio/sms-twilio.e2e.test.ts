import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from '../../test/support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from '../../test/support/test-hub.js';
import { postAsTwilio, startFakeTwilioApi, type FakeTwilioApi } from './fake-twilio-api.js';

const account = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') };
const HELP_TEXT = 'Card services: call 95588 any time. Reply STOP to opt out.';

let hub: TestHub;
let twilioApi: FakeTwilioApi;
let channelId: string;

beforeAll(async () => {
  // Two attempts only: a throttled send that still succeeds after three 429s proves they cost none.
  // A send held by the fake API must not time out while a test delivers its early receipt.
  hub = await startTestHub({ overrides: { OUTBOUND_MAX_ATTEMPTS: '2', SEND_TIMEOUT_MS: '8000' } });
  twilioApi = await startFakeTwilioApi(account);
  channelId = await createSmsChannel({ from: '+14155550100', publicBaseUrl: hub.baseUrl, helpText: HELP_TEXT });
});
afterAll(async () => {
  await twilioApi?.close();
  await hub?.close();
});

async function createSmsChannel(config: Record<string, unknown>): Promise<string> {
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'sms_twilio',
    name: `SMS ${randomBytes(3).toString('hex')}`,
    config: { ...account, apiBaseUrl: twilioApi.url, ...config },
  });
  if (status !== 201) throw new Error(`channel creation failed: ${status} ${JSON.stringify(body)}`);
  return body.id;
}

const webhookUrl = (id = channelId, subpath = '') => `${hub.baseUrl}/webhooks/sms_twilio/${id}${subpath}`;
let sidCounter = 0;
const newSid = () => `SM${randomBytes(15).toString('hex')}${(sidCounter++).toString(16).padStart(2, '0')}`;

/** An inbound SMS as Twilio posts it to the channel's webhook. */
function inboundSms(from: string, body: string, extra: Record<string, string> = {}) {
  const sid = newSid();
  return {
    sid,
    params: {
      ToCountry: 'US',
      SmsMessageSid: sid,
      NumMedia: '0',
      SmsSid: sid,
      SmsStatus: 'received',
      Body: body,
      To: '+14155550100',
      NumSegments: '1',
      MessageSid: sid,
      AccountSid: account.accountSid,
      From: from,
      ApiVersion: '2010-04-01',
      ...extra,
    },
  };
}

async function receive(from: string, body: string, extra: Record<string, string> = {}) {
  const sms = inboundSms(from, body, extra);
  const response = await postAsTwilio({ authToken: account.authToken, signedUrl: webhookUrl(), params: sms.params });
  expect(response.status).toBe(200);
  return sms;
}

async function count(query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await hub.runtime.database.query<{ n: number }>(query);
  return row!.n;
}

async function conversationOf(phone: string): Promise<string> {
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ contact_id: string }>(
      sql`select contact_id from contact_identities where kind = 'phone' and value = ${phone}`,
    );
    if (!row) return undefined;
    const { body } = await hub.api('GET', `/api/v1/conversations?contactId=${row.contact_id}`);
    return body.items[0]?.id as string | undefined;
  }, 10_000, `conversation of ${phone}`);
}

async function messagesIn(conversationId: string) {
  const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
  return body.items as Array<{ id: string; text: string | null; direction: string; authorKind: string; status: string; payload: any; errorCode: string | null }>;
}

async function waitForStatus(messageId: string, status: string) {
  return waitFor(async () => {
    const { body } = await hub.api('GET', `/api/v1/messages/${messageId}`);
    return body.status === status && body;
  }, 15_000, `message ${messageId} ${status}`);
}

async function reply(conversationId: string, text: string, category?: 'marketing') {
  const response = await hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text, ...(category ? { category } : {}) });
  expect(response.status).toBe(202);
  return response.body as { id: string };
}

async function consentOf(phone: string, id = channelId) {
  return hub.runtime.database.query<{ status: string; source: string }>(sql`
    select c.status, c.source from consents c
    join contact_identities i on i.contact_id = c.contact_id and i.kind = 'phone' and i.value = ${phone}
    where c.channel_id = ${id} order by c.created_at, c.id`);
}

describe('inbound SMS webhook', () => {
  it('accepts a message signed as Twilio signs it and answers empty TwiML', async () => {
    const sms = inboundSms('+8613800138000', '我的信用卡被冻结了');
    const response = await postAsTwilio({ authToken: account.authToken, signedUrl: webhookUrl(), params: sms.params });
    expect(response.status).toBe(200);
    expect(response.contentType).toMatch(/^text\/xml/);
    expect(response.body).toMatch(/<Response\/>$/);

    const conversationId = await conversationOf('+8613800138000');
    const messages = await waitFor(async () => (await messagesIn(conversationId)).length > 0 && messagesIn(conversationId), 10_000, 'message');
    expect(messages).toEqual([expect.objectContaining({ text: '我的信用卡被冻结了', direction: 'inbound', status: 'received' })]);
  });

  it("checks the signature against the channel's publicBaseUrl, with its port, path prefix and the query string", async () => {
    const proxied = await createSmsChannel({ from: '+14155550101', publicBaseUrl: 'https://sms.bank.example:8443/hub' });
    const query = '?gateway=cn-east&note=a%20b';
    const sms = inboundSms('+8613800138002', 'through the proxy');
    const response = await postAsTwilio({
      authToken: account.authToken,
      signedUrl: `https://sms.bank.example:8443/hub/webhooks/sms_twilio/${proxied}${query}`,
      deliverTo: `${webhookUrl(proxied)}${query}`,
      params: sms.params,
    });
    expect(response.status).toBe(200);
    const conversationId = await conversationOf('+8613800138002');
    expect((await messagesIn(conversationId)).map((m) => m.text)).toEqual(['through the proxy']);

    // The same request signed for the address the hub listens at is not what Twilio would sign.
    const direct = await postAsTwilio({ authToken: account.authToken, signedUrl: `${webhookUrl(proxied)}${query}`, params: inboundSms('+8613800138002', 'x').params });
    expect(direct.status).toBe(403);
    const withoutQuery = await postAsTwilio({
      authToken: account.authToken,
      signedUrl: `https://sms.bank.example:8443/hub/webhooks/sms_twilio/${proxied}`,
      deliverTo: `${webhookUrl(proxied)}${query}`,
      params: inboundSms('+8613800138002', 'y').params,
    });
    expect(withoutQuery.status).toBe(403);
  });

  it('refuses a tampered, unsigned or wrongly keyed request with 403 and stores nothing', async () => {
    const before = await count(sql`select count(*)::int as n from inbound_events`);
    const sms = inboundSms('+8613800138003', 'transfer 100');
    const tampered = await postAsTwilio({ authToken: account.authToken, signedUrl: webhookUrl(), params: sms.params, tamper: (p) => ({ ...p, Body: 'transfer 100000' }) });
    expect(tampered.status).toBe(403);
    expect(tampered.body).toMatch(/x-twilio-signature/);
    const wrongKey = await postAsTwilio({ authToken: randomBytes(16).toString('hex'), signedUrl: webhookUrl(), params: sms.params });
    expect(wrongKey.status).toBe(403);
    const unsigned = await fetch(webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(sms.params).toString(),
    });
    expect(unsigned.status).toBe(403);
    const forgedReceipt = await postAsTwilio({
      authToken: account.authToken,
      signedUrl: webhookUrl(),
      deliverTo: webhookUrl(channelId, '/status'),
      params: { MessageSid: newSid(), MessageStatus: 'delivered', AccountSid: account.accountSid },
    });
    expect(forgedReceipt.status).toBe(403);
    expect(await count(sql`select count(*)::int as n from inbound_events`)).toBe(before);
    // The hub keeps serving after refusing.
    expect((await fetch(`${hub.baseUrl}/healthz`)).status).toBe(200);
  });

  it('stores a message Twilio delivers three times once', async () => {
    const sms = inboundSms('+8613800138004', 'only once');
    const responses = await Promise.all([1, 2, 3].map(() => postAsTwilio({ authToken: account.authToken, signedUrl: webhookUrl(), params: sms.params })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const conversationId = await conversationOf('+8613800138004');
    await waitFor(async () => (await count(sql`select count(*)::int as n from inbound_events where dedupe_key = ${sms.sid} and status = 'processed'`)) === 1, 10_000, 'processed');
    expect((await messagesIn(conversationId)).map((m) => m.text)).toEqual(['only once']);
  });

  it('fetches MMS media from Twilio with the account credentials and refuses a foreign media host', async () => {
    const foreign = await startCallbackServer([200]);
    try {
      const image = randomBytes(2048);
      const mediaUrl = twilioApi.addMedia(image, 'image/jpeg');
      const voice = randomBytes(512);
      // As Twilio writes it: on api.twilio.com, which the channel reaches through its apiBaseUrl.
      const voiceUrl = twilioApi.addMedia(voice, 'audio/amr').replace(twilioApi.url, 'https://api.twilio.com');
      const foreignUrl = foreign.url.replace('/hub-callback', '/internal/secrets.png');
      await receive('+8613800138005', '看看这张账单', {
        NumMedia: '4',
        MediaUrl0: mediaUrl,
        MediaContentType0: 'image/jpeg',
        MediaUrl1: foreignUrl,
        MediaContentType1: 'image/png',
        MediaUrl2: 'http://169.254.169.254/latest/meta-data/',
        MediaContentType2: 'image/png',
        MediaUrl3: voiceUrl,
        MediaContentType3: 'audio/amr',
      });
      const conversationId = await conversationOf('+8613800138005');
      const [message] = await waitFor(async () => {
        const list = await messagesIn(conversationId);
        return list.length > 0 && list;
      }, 10_000, 'MMS stored');
      expect(message!.text).toBe('看看这张账单');
      expect(message!.payload.attachments).toEqual([
        expect.objectContaining({ contentType: 'image/jpeg', size: image.length }),
        expect.objectContaining({ contentType: 'audio/amr', size: voice.length }),
      ]);
      expect(message!.payload.refusedMedia.map((r: { url: string }) => r.url)).toEqual([foreignUrl, 'http://169.254.169.254/latest/meta-data/']);
      expect(message!.payload.refusedMedia[0].reason).toMatch(/not one of Twilio's media hosts/);

      const download = await fetch(`${hub.baseUrl}/api/v1/attachments/${message!.payload.attachments[0].id}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
      expect(Buffer.from(await download.arrayBuffer()).equals(image)).toBe(true);
      for (const url of [mediaUrl, voiceUrl]) {
        expect(twilioApi.mediaRequests.filter((r) => url.endsWith(r.path))).toEqual([
          expect.objectContaining({ credentials: `${account.accountSid}:${account.authToken}` }),
        ]);
      }
      expect(foreign.received).toHaveLength(0);
    } finally {
      await foreign.close();
    }
  });
});

describe('outbound SMS and delivery receipts', () => {
  it('sends an agent reply through the Twilio API with the right form and credentials', async () => {
    await receive('+8613900139000', '请问账单日是哪天？');
    const conversationId = await conversationOf('+8613900139000');
    const queued = await reply(conversationId, '您的账单日是每月5日。');
    const sent = await waitForStatus(queued.id, 'sent');

    const request = twilioApi.sends.find((s) => s.form.Body === '您的账单日是每月5日。')!;
    expect(request.credentials).toBe(`${account.accountSid}:${account.authToken}`);
    expect(request.contentType).toMatch(/application\/x-www-form-urlencoded/);
    expect(request.form).toEqual({
      To: '+8613900139000',
      From: '+14155550100',
      Body: '您的账单日是每月5日。',
      StatusCallback: `${hub.baseUrl}/webhooks/sms_twilio/${channelId}/status`,
    });
    expect(sent.providerMessageId).toBe(request.sid);
  });

  it('sends from a Messaging Service when the channel names one', async () => {
    const messagingServiceSid = `MG${randomBytes(16).toString('hex')}`;
    const serviceChannel = await createSmsChannel({ messagingServiceSid, publicBaseUrl: hub.baseUrl });
    await postAsTwilio({ authToken: account.authToken, signedUrl: webhookUrl(serviceChannel), params: inboundSms('+8613900139001', 'hi').params });
    const queued = await reply(await conversationOf('+8613900139001'), 'hello from the pool');
    await waitForStatus(queued.id, 'sent');
    const request = twilioApi.sends.find((s) => s.form.Body === 'hello from the pool')!;
    expect(request.form.MessagingServiceSid).toBe(messagingServiceSid);
    expect(request.form.From).toBeUndefined();
  });

  it('applies duplicated, shuffled status callbacks forward only', async () => {
    await receive('+8613900139002', 'status please');
    const conversationId = await conversationOf('+8613900139002');
    const queued = await reply(conversationId, 'tracking this one');
    const { providerMessageId: sid } = await waitForStatus(queued.id, 'sent');

    const receipt = (status: string) =>
      postAsTwilio({
        authToken: account.authToken,
        signedUrl: webhookUrl(channelId, '/status'),
        params: { SmsSid: sid, SmsStatus: status, MessageStatus: status, To: '+8613900139002', MessageSid: sid, AccountSid: account.accountSid, From: '+14155550100', ApiVersion: '2010-04-01' },
      });
    const responses = await Promise.all(['delivered', 'queued', 'sent', 'delivered', 'sent', 'queued', 'delivered'].map(receipt));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(responses[0]!.contentType).toMatch(/^text\/xml/);
    await waitFor(
      async () => (await count(sql`select count(*)::int as n from inbound_events where dedupe_key like ${`${sid}:%`} and status = 'processed'`)) === 3,
      10_000,
      'three distinct receipts processed',
    );
    expect((await hub.api('GET', `/api/v1/messages/${queued.id}`)).body.status).toBe('delivered');

    // A late "sent" and a "failed" after delivery change nothing; "read" still moves it on.
    await receipt('sent');
    await receipt('failed');
    await receipt('read');
    const read = await waitForStatus(queued.id, 'read');
    expect(read.errorCode).toBeNull();
  });

  it('a receipt that overtakes the answer to its send is applied once the send is recorded', async () => {
    await receive('+8613900139006', 'quick');
    const hold = twilioApi.holdNext();
    const queued = await reply(await conversationOf('+8613900139006'), 'racing my receipt');
    const sid = await hold.arrived;
    const early = await postAsTwilio({
      authToken: account.authToken,
      signedUrl: webhookUrl(channelId, '/status'),
      params: { MessageSid: sid, MessageStatus: 'delivered', AccountSid: account.accountSid },
    });
    expect(early.status).toBe(200);
    await waitFor(
      async () => (await count(sql`select count(*)::int as n from inbound_events where dedupe_key = ${`${sid}:delivered`} and attempts > 0`)) === 1,
      6_000,
      'the early receipt to be put back',
    );
    hold.release();
    const delivered = await waitForStatus(queued.id, 'delivered');
    expect(delivered.providerMessageId).toBe(sid);
  });

  it('an undelivered receipt fails the message with Twilio\'s error code', async () => {
    await receive('+8613900139003', 'wrong number?');
    const queued = await reply(await conversationOf('+8613900139003'), 'this will bounce');
    const { providerMessageId: sid } = await waitForStatus(queued.id, 'sent');
    for (const [status, extra] of [['undelivered', { ErrorCode: '30003' }], ['sent', {}]] as const) {
      await postAsTwilio({
        authToken: account.authToken,
        signedUrl: webhookUrl(channelId, '/status'),
        params: { MessageSid: sid, MessageStatus: status, AccountSid: account.accountSid, ...extra },
      });
    }
    const failed = await waitForStatus(queued.id, 'failed');
    expect(failed.errorCode).toBe('30003');
    expect(failed.errorMessage).toMatch(/undelivered/);
  });

  it('21610 fails the send for good and records that the recipient opted out', async () => {
    await receive('+8613900139004', 'hello');
    const conversationId = await conversationOf('+8613900139004');
    twilioApi.failNext({ status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const queued = await reply(conversationId, 'blocked by the carrier');
    const failed = await waitForStatus(queued.id, 'failed');
    expect(failed.errorCode).toBe('21610');
    expect(failed.errorMessage).toMatch(/unsubscribed recipient/);
    expect(twilioApi.sends.filter((s) => s.form.Body === 'blocked by the carrier')).toHaveLength(1);
    expect(await consentOf('+8613900139004')).toEqual([{ status: 'opted_out', source: 'sms:21610' }]);
  });

  it('429 is retried after Retry-After without spending an attempt', async () => {
    await receive('+8613900139005', 'hello');
    const conversationId = await conversationOf('+8613900139005');
    const throttled = { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '1' };
    twilioApi.failNext(throttled, throttled, throttled);
    const queued = await reply(conversationId, 'after the throttle');
    const sent = await waitForStatus(queued.id, 'sent');
    const tries = twilioApi.sends.filter((s) => s.form.Body === 'after the throttle');
    expect(tries.map((t) => t.answered)).toEqual([429, 429, 429, 201]);
    // Each retry waited for the second Twilio asked for.
    for (let i = 1; i < tries.length; i++) expect(tries[i]!.at - tries[i - 1]!.at).toBeGreaterThanOrEqual(950);
    // The hub allows two attempts here: only the successful one was counted.
    expect(sent.attempts).toBe(1);
  });
});

describe('keywords and consent', () => {
  it('STOP opts out: marketing is refused, transactional replies still go; START opts back in', async () => {
    const phone = '+8613700137000';
    await receive(phone, 'hello');
    const conversationId = await conversationOf(phone);
    await receive(phone, ' Stop ');
    await waitFor(async () => (await consentOf(phone)).length === 1, 10_000, 'opt-out recorded');
    expect(await consentOf(phone)).toEqual([{ status: 'opted_out', source: 'sms:STOP' }]);
    expect((await messagesIn(conversationId)).map((m) => m.text)).toEqual(['hello', ' Stop ']);

    const offer = await reply(conversationId, 'New card offer: 0% for 12 months', 'marketing');
    const refused = await waitForStatus(offer.id, 'failed');
    expect(refused.errorCode).toBe('opted_out');
    const answer = await reply(conversationId, 'Your card is unblocked.');
    await waitForStatus(answer.id, 'sent');
    expect(twilioApi.sends.filter((s) => s.form.To === phone).map((s) => s.form.Body)).toEqual(['Your card is unblocked.']);

    await receive(phone, 'start');
    await waitFor(async () => (await consentOf(phone)).length === 2, 10_000, 'opt-in recorded');
    expect((await consentOf(phone)).at(-1)).toEqual({ status: 'opted_in', source: 'sms:START' });
    const secondOffer = await reply(conversationId, 'Still interested in 0%?', 'marketing');
    await waitForStatus(secondOffer.id, 'sent');
  });

  it('退订 and TD opt out, and a second opt-out adds no record', async () => {
    const phone = '+8613700137001';
    await receive(phone, '退订');
    await waitFor(async () => (await consentOf(phone)).length === 1, 10_000, 'opt-out recorded');
    const second = await receive(phone, 'TD');
    await waitFor(async () => (await count(sql`select count(*)::int as n from inbound_events where dedupe_key = ${second.sid} and status = 'processed'`)) === 1, 10_000, 'processed');
    expect(await consentOf(phone)).toEqual([{ status: 'opted_out', source: 'sms:退订' }]);
  });

  it('HELP is answered with the configured help text through the Twilio API', async () => {
    const phone = '+8613700137002';
    await receive(phone, 'help');
    const conversationId = await conversationOf(phone);
    const messages = await waitFor(async () => {
      const list = await messagesIn(conversationId);
      return list.some((m) => m.direction === 'outbound' && m.status === 'sent') && list;
    }, 15_000, 'help reply sent');
    expect(messages.map((m) => [m.direction, m.authorKind, m.text])).toEqual([
      ['inbound', 'contact', 'help'],
      ['outbound', 'system', HELP_TEXT],
    ]);
    expect(twilioApi.sends.filter((s) => s.form.To === phone).map((s) => s.form.Body)).toEqual([HELP_TEXT]);
  });

  it('a sentence containing a keyword is an ordinary message', async () => {
    const phone = '+8613700137003';
    const sms = await receive(phone, 'Please stop the automatic payment on my card');
    await waitFor(async () => (await count(sql`select count(*)::int as n from inbound_events where dedupe_key = ${sms.sid} and status = 'processed'`)) === 1, 10_000, 'processed');
    expect(await consentOf(phone)).toEqual([]);
  });
});

describe('SMS channel administration', () => {
  it('never returns the auth token and validates the sender settings', async () => {
    const { body } = await hub.api('GET', `/api/v1/channels/${channelId}`);
    expect(body.secretsSet).toEqual(['authToken']);
    expect(JSON.stringify(body)).not.toContain(account.authToken);
    const both = await hub.api('POST', '/api/v1/channels', {
      type: 'sms_twilio',
      name: 'both senders',
      config: { ...account, from: '+14155550100', messagingServiceSid: `MG${'0'.repeat(32)}` },
    });
    expect(both.status).toBe(400);
    expect(both.body.error).toMatch(/exactly one of from and messagingServiceSid/);

    const switching = await createSmsChannel({ from: '+14155550103' });
    const messagingServiceSid = `MG${'1'.repeat(32)}`;
    const patched = await hub.api('PATCH', `/api/v1/channels/${switching}`, { config: { from: null, messagingServiceSid } });
    expect(patched.status).toBe(200);
    expect(patched.body.config).toMatchObject({ from: null, messagingServiceSid });
  });

  it("the channel test checks the credentials against Twilio's API", async () => {
    const good = await hub.api('POST', `/api/v1/channels/${channelId}/test`);
    expect(good.body).toEqual({ ok: true, message: 'Twilio account Card services is active' });
    const wrongToken = await createSmsChannel({ from: '+14155550102', authToken: randomBytes(16).toString('hex') });
    const bad = await hub.api('POST', `/api/v1/channels/${wrongToken}/test`);
    expect(bad.body).toEqual({ ok: false, message: 'Twilio answered 401: Authenticate' });
  });

  it('reports encoding and segments of a draft', async () => {
    const chinese = await hub.api('POST', `/api/v1/channels/${channelId}/sms-segments`, { text: '尊敬的客户，您的信用卡账单已出。'.repeat(5) });
    expect(chinese.status).toBe(200);
    expect(chinese.body).toMatchObject({ encoding: 'UCS-2', characters: 80, segments: 2, perSegment: 67 });
    const english = await hub.api('POST', `/api/v1/channels/${channelId}/sms-segments`, { text: 'Your statement is ready.' });
    expect(english.body).toMatchObject({ encoding: 'GSM-7', segments: 1, remainingInLastSegment: 160 - 24 });

    const api = await hub.createApiChannel('https://bank.example/callback');
    const notSms = await hub.api('POST', `/api/v1/channels/${api.id}/sms-segments`, { text: 'x' });
    expect(notSms.status).toBe(422);
  });
});
