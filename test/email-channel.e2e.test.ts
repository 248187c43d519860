import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import iconv from 'iconv-lite';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeAttachment } from '../core/attachments/attachment-store.js';
import { linkAttachments } from '../core/inbound/process-inbound.js';
import { queueOutboundMessage } from '../core/messages/outbound.js';
import { startSmtpPeer } from './support/smtp-peer.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let peer: Awaited<ReturnType<typeof startSmtpPeer>>;
let channel: { id: string; secret: string };
const address = 'care@bank.test';

beforeAll(async () => {
  peer = await startSmtpPeer({ user: 'hub', password: 'relay-password' });
  // Links in mail point at the public URL; the test reaches the same hub on its loopback port.
  hub = await startTestHub({ smtp: true, overrides: { PUBLIC_BASE_URL: 'https://hub.bank.test', SMTP_MAX_BYTES: '200000' } });
  channel = await createEmailChannel(address);
});
afterAll(async () => {
  await hub?.close();
  await peer?.close();
});

async function createEmailChannel(mailbox: string, extra: Record<string, unknown> = {}) {
  const secret = randomBytes(24).toString('hex');
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'email',
    name: 'Card services mail',
    config: {
      ...extra,
      address: mailbox,
      fromName: 'Bank Card Services',
      webhookSecret: secret,
      smtpHost: '127.0.0.1',
      smtpPort: peer.port,
      smtpUser: 'hub',
      smtpPassword: 'relay-password',
    },
  });
  if (status !== 201) throw new Error(`channel creation failed: ${status} ${JSON.stringify(body)}`);
  return { id: body.id as string, secret };
}

/** The customer's own mail client, speaking SMTP to the hub's listener. */
const customerClient = () => nodemailer.createTransport({ host: '127.0.0.1', port: hub.smtpPort!, secure: false, ignoreTLS: true });

const gbkWord = (s: string) => `=?GBK?B?${iconv.encode(s, 'gbk').toString('base64')}?=`;
const gbkBody = (s: string) => iconv.encode(s, 'gbk').toString('base64').replace(/.{76}/g, '$&\r\n');

async function conversationsOf(email: string) {
  return hub.runtime.database.query<{ id: string; status: string }>(
    sql`select c.id, c.status from conversations c join contact_identities i on i.contact_id = c.contact_id
        where i.kind = 'email' and i.value = ${email} order by c.created_at`,
  );
}

type ApiMessage = {
  id: string;
  text: string;
  direction: string;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  providerMessageId: string | null;
  conversationId: string;
  payload: Record<string, any>;
};

async function messagesOf(conversationId: string): Promise<ApiMessage[]> {
  const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
  return body.items;
}

async function waitForMessages(email: string, count: number) {
  return waitFor(async () => {
    const [conversation] = await conversationsOf(email);
    if (!conversation) return undefined;
    const messages = await messagesOf(conversation.id);
    return messages.length >= count && { conversation, messages };
  }, 15_000, `${count} messages from ${email}`);
}

async function messageStatus(id: string, status: string) {
  return waitFor(async () => {
    const { body } = await hub.api('GET', `/api/v1/messages/${id}`);
    return body.status === status && (body as ApiMessage);
  }, 15_000, `message ${status}`);
}

describe('inbound mail over SMTP', () => {
  it('takes a GBK-encoded mail with a Chinese attachment name, shows the new text and keeps the original', async () => {
    const statement = Buffer.from('%PDF-1.4 fake statement');
    const text = '您好，我的信用卡账单金额不对，请核实。\r\n\r\n李雷\r\n-- \r\n发自我的手机\r\n\r\n在 2026年11月20日，银行客服 写道：\r\n> 请问有什么可以帮您？\r\n';
    const html = '<p>您好，我的信用卡账单金额不对，请核实。</p><script>alert(1)</script><img src="https://tracker.example/p.gif"><a href="javascript:alert(2)">点此</a>';
    const raw = [
      `From: ${gbkWord('李雷')} <Li.Lei@example.cn>`,
      `To: ${gbkWord('银行客服')} <${address}>`,
      `Subject: ${gbkWord('信用卡账单疑问')}`,
      'Message-ID: <gbk-0001@example.cn>',
      'Date: Fri, 20 Nov 2026 10:00:00 +0800',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=GBK',
      'Content-Transfer-Encoding: base64',
      '',
      gbkBody(text),
      '--alt',
      'Content-Type: text/html; charset=GBK',
      'Content-Transfer-Encoding: base64',
      '',
      gbkBody(html),
      '--alt--',
      '--outer',
      `Content-Type: application/pdf; name="${gbkWord('十一月对账单.pdf')}"`,
      `Content-Disposition: attachment; filename="${gbkWord('十一月对账单.pdf')}"`,
      'Content-Transfer-Encoding: base64',
      '',
      statement.toString('base64'),
      '--outer--',
      '',
    ].join('\r\n');

    const info = await customerClient().sendMail({ envelope: { from: 'li.lei@example.cn', to: [address] }, raw });
    expect(info.accepted).toEqual([address]);

    const { conversation, messages } = await waitForMessages('li.lei@example.cn', 1);
    const [message] = messages;
    expect(message).toMatchObject({ direction: 'inbound', status: 'received', text: '您好，我的信用卡账单金额不对，请核实。\n\n李雷', providerMessageId: 'gbk-0001@example.cn' });
    expect(message!.payload.subject).toBe('信用卡账单疑问');
    expect(message!.payload.originalText).toContain('> 请问有什么可以帮您？');
    expect(message!.payload.html).toContain('<p>您好，我的信用卡账单金额不对，请核实。</p>');
    expect(message!.payload.html).not.toMatch(/script|tracker\.example|javascript:/);
    expect(message!.payload.attachments).toEqual([
      expect.objectContaining({ fileName: '十一月对账单.pdf', contentType: 'application/pdf', size: statement.length, inline: false }),
    ]);
    const download = await fetch(`${hub.baseUrl}/api/v1/attachments/${message!.payload.attachments[0].id}`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    expect(Buffer.from(await download.arrayBuffer())).toEqual(statement);

    const contact = await hub.api('GET', `/api/v1/contacts/${(await hub.api('GET', `/api/v1/conversations/${conversation.id}`)).body.contactId}`);
    expect(contact.body.name).toBe('李雷');

    const [event] = await hub.runtime.database.query<{ payload: { raw: string; via: string } }>(
      sql`select e.payload from inbound_events e join messages m on m.inbound_event_id = e.id where m.id = ${message!.id}`,
    );
    expect(event!.payload.via).toBe('smtp');
    expect(Buffer.from(event!.payload.raw, 'base64').toString('latin1')).toBe(`${raw}`);
  });

  it('refuses unknown recipients with 550 and oversized mail with 552, and keeps serving', async () => {
    const client = customerClient();
    const unknown = await client.sendMail({ from: 'x@example.cn', to: 'nobody@bank.test', subject: 'hi', text: 'hi' }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ responseCode: 550 });

    const huge = await client.sendMail({ from: 'big@example.cn', to: address, subject: 'big', text: 'x'.repeat(300_000) }).catch((e: unknown) => e);
    expect(huge).toMatchObject({ responseCode: 552 });

    const ok = await client.sendMail({ from: 'small@example.cn', to: address, subject: 'small', text: 'still open?', messageId: '<small-1@example.cn>' });
    expect(ok.accepted).toEqual([address]);
    await waitForMessages('small@example.cn', 1);
    expect(await conversationsOf('x@example.cn')).toEqual([]);
    expect(await conversationsOf('big@example.cn')).toEqual([]);
  });

  it('stores a mail delivered twice once', async () => {
    const mail = { from: 'twice@example.cn', to: address, subject: 'dup', text: 'only once please', messageId: '<twice-1@example.cn>', date: new Date('2026-11-20T00:00:00Z') };
    await customerClient().sendMail(mail);
    await customerClient().sendMail(mail);
    await waitForMessages('twice@example.cn', 1);
    const [events] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events where dedupe_key like 'twice-1@example.cn#%'`);
    expect(events!.n).toBe(1);
  });
});

describe('inbound mail over the webhook', () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${hub.baseUrl}/webhooks/email/${channel.id}`, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...headers }, body });
  const mime = (messageId: string, text: string) =>
    [`From: Han Meimei <han@example.cn>`, `To: ${address}`, 'Subject: =?UTF-8?B?' + Buffer.from('转账限额').toString('base64') + '?=', `Message-ID: <${messageId}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=UTF-8', '', text, ''].join('\r\n');

  it('needs the channel secret: 401 without it, 403 with a wrong one, and stores nothing', async () => {
    const [before] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events`);
    expect((await post(mime('forged@example.cn', 'x'), {})).status).toBe(401);
    expect((await post(mime('forged@example.cn', 'x'), { authorization: 'Bearer not-the-secret' })).status).toBe(403);
    const wrongType = await post(mime('forged@example.cn', 'x'), { authorization: `Bearer ${channel.secret}`, 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    const [after] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events`);
    expect(after!.n).toBe(before!.n);
  });

  it('decodes Big5 and keeps an inline image as an attachment the sanitized HTML refers to by cid', async () => {
    const big5 = (t: string) => iconv.encode(t, 'big5').toString('base64');
    const logo = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const raw = [
      `From: =?Big5?B?${big5('陳大文')}?= <chan.taiman@example.hk>`,
      `To: ${address}`,
      `Subject: =?Big5?B?${big5('信用卡額度查詢')}?=`,
      'Message-ID: <big5-1@example.hk>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/related; boundary="rel"',
      '',
      '--rel',
      'Content-Type: text/html; charset=Big5',
      'Content-Transfer-Encoding: base64',
      '',
      big5('<p>請問我的信用卡額度是多少？</p><img src="cid:logo@example.hk">'),
      '--rel',
      'Content-Type: image/png',
      'Content-ID: <logo@example.hk>',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      logo.toString('base64'),
      '--rel--',
      '',
    ].join('\r\n');
    expect((await post(raw, { authorization: `Bearer ${channel.secret}` })).status).toBe(202);
    const { messages } = await waitForMessages('chan.taiman@example.hk', 1);
    expect(messages[0]).toMatchObject({ text: '請問我的信用卡額度是多少？' });
    expect(messages[0]!.payload.subject).toBe('信用卡額度查詢');
    expect(messages[0]!.payload.html).toContain('<img src="cid:logo@example.hk" />');
    expect(messages[0]!.payload.attachments).toEqual([
      expect.objectContaining({ contentType: 'image/png', size: logo.length, inline: true, contentId: 'logo@example.hk', fileName: 'logo.png' }),
    ]);
  });

  it('accepts raw MIME, and flags a reused Message-ID with another body instead of dropping it', async () => {
    const auth = { authorization: `Bearer ${channel.secret}` };
    expect((await post(mime('hook-1@example.cn', '我想提高转账限额。'), auth)).status).toBe(202);
    expect((await post(mime('hook-1@example.cn', '我想提高转账限额。'), auth)).status).toBe(202);
    const { messages: first } = await waitForMessages('han@example.cn', 1);
    expect(first[0]).toMatchObject({ text: '我想提高转账限额。', providerMessageId: 'hook-1@example.cn' });
    expect(first[0]!.payload).toMatchObject({ subject: '转账限额', via: 'webhook' });
    expect(first[0]!.payload.messageIdReused).toBeUndefined();

    expect((await post(mime('hook-1@example.cn', '另一封信，同一个 Message-ID。'), auth)).status).toBe(202);
    const { messages } = await waitForMessages('han@example.cn', 2);
    expect(messages.map((m) => m.text)).toEqual(['我想提高转账限额。', '另一封信，同一个 Message-ID。']);
    expect(messages[1]!.payload.messageIdReused).toBe(true);
  });
});

describe('threading and outbound SMTP', () => {
  it('customer mail, agent reply and the customer client reply to it form one conversation', async () => {
    const customer = 'wang.fang@example.cn';
    await customerClient().sendMail({
      from: { name: 'Wang Fang', address: customer },
      to: address,
      subject: '挂失银行卡',
      text: '我的银行卡丢了，请帮我挂失。',
      messageId: '<thread-1@example.cn>',
    });
    const { conversation } = await waitForMessages(customer, 1);

    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '已为您挂失，新卡将在 7 天内寄出。\n<请勿回复>' });
    expect(reply.status).toBe(202);
    const sent = await messageStatus(reply.body.id, 'sent');
    const delivered = await waitFor(async () => peer.received.find((m) => m.parsed.messageId === `<${sent.providerMessageId}>`), 10_000, 'mail at the relay');

    expect(sent.providerMessageId).toBe(`${reply.body.id}@bank.test`);
    expect(delivered.envelope.to).toEqual([customer]);
    const mail = delivered.parsed;
    expect(mail.from?.value).toEqual([{ name: 'Bank Card Services', address }]);
    expect(mail.subject).toBe('Re: 挂失银行卡');
    expect(mail.inReplyTo).toBe('<thread-1@example.cn>');
    expect(mail.references).toBe('<thread-1@example.cn>');
    expect(mail.text?.trim()).toBe('已为您挂失，新卡将在 7 天内寄出。\n<请勿回复>');
    expect(mail.html).toContain('&#60;请勿回复&#62;');
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    const replyTo = mail.replyTo?.value[0]?.address ?? '';
    expect(replyTo).toMatch(/^care\+c[0-9a-f]{32}\.[0-9a-f]{10}@bank\.test$/);
    expect(mail.headers.has('list-unsubscribe')).toBe(false);

    // The customer's client answers the hub's mail the way clients do: to Reply-To, threaded.
    await customerClient().sendMail({
      from: customer,
      to: replyTo,
      subject: 'Re: Re: 挂失银行卡',
      text: '收到，谢谢！\n\nOn Sat, 21 Nov 2026 Bank Card Services wrote:\n> 已为您挂失',
      messageId: '<thread-3@example.cn>',
      inReplyTo: mail.messageId!,
      references: ['<thread-1@example.cn>', mail.messageId!],
    });
    const { messages } = await waitForMessages(customer, 3);
    expect(await conversationsOf(customer)).toHaveLength(1);
    expect(messages.map((m) => [m.direction, m.text])).toEqual([
      ['inbound', '我的银行卡丢了，请帮我挂失。'],
      ['outbound', '已为您挂失，新卡将在 7 天内寄出。\n<请勿回复>'],
      ['inbound', '收到，谢谢！'],
    ]);
    expect(messages[2]!.payload.inReplyTo).toBe(sent.providerMessageId);
  });

  it('a mail whose subject matches a closed thread but that answers nothing opens a new conversation', async () => {
    const customer = 'zhao.lei@example.cn';
    await customerClient().sendMail({ from: customer, to: address, subject: '理财产品咨询', text: '请介绍一下理财产品。', messageId: '<subj-1@example.cn>' });
    const { conversation } = await waitForMessages(customer, 1);
    await hub.runtime.database.query(sql`update conversations set status = 'resolved' where id = ${conversation.id}`);

    await customerClient().sendMail({ from: customer, to: address, subject: 'Re: 理财产品咨询', text: '还有一个问题。', messageId: '<subj-2@example.cn>' });
    const conversations = await waitFor(async () => {
      const list = await conversationsOf(customer);
      return list.length === 2 && list;
    }, 15_000, 'a second conversation');
    expect(conversations.map((c) => c.status)).toEqual(['resolved', 'open']);
    expect((await messagesOf(conversations[1]!.id)).map((m) => m.text)).toEqual(['还有一个问题。']);
  });
});

describe('outbound SMTP with DKIM and attachments', () => {
  it('signs with the channel key, attaches files, and never shows the secrets', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const notices = await createEmailChannel('notices@bank.test', { dkimDomain: 'bank.test', dkimSelector: 'hub2026', dkimPrivateKey: pem });
    const view = await hub.api('GET', `/api/v1/channels/${notices.id}`);
    expect(view.body.secretsSet.sort()).toEqual(['dkimPrivateKey', 'smtpPassword', 'webhookSecret']);
    expect(JSON.stringify(view.body)).not.toMatch(/relay-password|PRIVATE KEY|${notices.secret}/);

    const customer = 'qian.jin@example.cn';
    await customerClient().sendMail({ from: customer, to: 'notices@bank.test', subject: '对账单', text: '请发给我对账单。', messageId: '<dkim-1@example.cn>' });
    const { conversation } = await waitForMessages(customer, 1);
    const statement = Buffer.from('%PDF-1.4 statement for November');
    const message = await hub.runtime.database.db.transaction(async (tx) => {
      const queued = await queueOutboundMessage(tx, hub.runtime.adapters, { conversationId: conversation.id, authorKind: 'agent', text: '附件是您的对账单。' });
      const file = await storeAttachment(tx, { data: statement, contentType: 'application/pdf', fileName: '十一月对账单.pdf', channelId: notices.id });
      await linkAttachments(tx, queued.id, { attachments: [file] });
      return queued;
    });
    await hub.runtime.queues.enqueueDelivery(message.id, 0);
    const sent = await messageStatus(message.id, 'sent');
    const mail = await waitFor(async () => peer.received.find((m) => m.parsed.messageId === `<${sent.providerMessageId}>`), 10_000, 'signed mail');

    const signature = mail.parsed.headerLines.find((h) => h.key === 'dkim-signature')?.line.replace(/\r?\n\s+/g, ' ') ?? '';
    expect(signature).toMatch(/\bd=bank\.test;/);
    expect(signature).toMatch(/\bs=hub2026;/);
    expect(signature).toMatch(/\bh=[^;]*\bFrom\b/i);
    expect(mail.parsed.inReplyTo).toBe('<dkim-1@example.cn>');
    expect(mail.parsed.attachments).toEqual([expect.objectContaining({ filename: '十一月对账单.pdf', contentType: 'application/pdf' })]);
    expect(mail.parsed.attachments[0]!.content).toEqual(statement);
  });
});

describe('bounces', () => {
  it('a DSN marks the original failed with its status code, and the address is suppressed afterwards', async () => {
    const customer = 'gone@example.cn';
    await customerClient().sendMail({ from: customer, to: address, subject: '开户', text: '我想开户。', messageId: '<bounce-1@example.cn>' });
    const { conversation } = await waitForMessages(customer, 1);
    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '请携带身份证到网点办理。' });
    const sent = await messageStatus(reply.body.id, 'sent');

    const dsn = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>',
      `To: ${address}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-1@mx.example.cn>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="rep"',
      '',
      '--rep',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This is the mail system at host mx.example.cn. Your message could not be delivered.',
      '--rep',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.cn',
      '',
      `Final-Recipient: rfc822; ${customer}`,
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <gone@example.cn>: Recipient address rejected: User unknown',
      '',
      '--rep',
      'Content-Type: text/rfc822-headers',
      '',
      `From: Bank Card Services <${address}>`,
      `To: ${customer}`,
      `Message-ID: <${sent.providerMessageId}>`,
      'Subject: Re: 开户',
      '',
      '--rep--',
      '',
    ].join('\r\n');
    await customerClient().sendMail({ envelope: { from: '', to: [address] }, raw: dsn });

    const failed = await messageStatus(reply.body.id, 'failed');
    expect(failed.errorCode).toBe('5.1.1');
    expect(failed.errorMessage).toMatch(/User unknown/);
    expect(await messagesOf(conversation.id)).toHaveLength(2);

    const relayed = peer.received.length;
    const again = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '再试一次' });
    const refused = await messageStatus(again.body.id, 'failed');
    expect(refused.errorCode).toBe('recipient_suppressed');
    expect(refused.errorMessage).toContain(customer);
    expect(peer.received.length).toBe(relayed);
  });
});

describe('one-click unsubscribe', () => {
  it('marketing mail carries List-Unsubscribe; GET only asks, POST opts the contact out', async () => {
    const customer = 'sun.li@example.cn';
    await customerClient().sendMail({ from: customer, to: address, subject: '你好', text: '你好', messageId: '<unsub-1@example.cn>' });
    const { conversation } = await waitForMessages(customer, 1);
    const campaign = await hub.runtime.database.db.transaction((tx) =>
      queueOutboundMessage(tx, hub.runtime.adapters, {
        conversationId: conversation.id,
        authorKind: 'system',
        text: '新春理财季，收益率 3.2%。',
        payload: { category: 'marketing', subject: '新春理财季' },
      }),
    );
    await hub.runtime.queues.enqueueDelivery(campaign.id, 0);
    const sent = await messageStatus(campaign.id, 'sent');
    const mail = await waitFor(async () => peer.received.find((m) => m.parsed.messageId === `<${sent.providerMessageId}>`), 10_000, 'campaign mail');
    expect(mail.parsed.subject).toBe('新春理财季');
    const header = (name: string) => mail.parsed.headerLines.find((h) => h.key === name)?.line.replace(/\r?\n\s+/g, ' ');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const url = /^List-Unsubscribe: <(https:\/\/hub\.bank\.test\/email\/unsubscribe\/[^>]+)>$/.exec(header('list-unsubscribe') ?? '')![1]!;
    const local = url.replace('https://hub.bank.test', hub.baseUrl);

    const consents = () => hub.runtime.database.query<{ status: string; source: string }>(sql`select status, source from consents where channel_id = ${channel.id}`);
    const page = await fetch(local);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(customer);
    expect(html).toMatch(/<form method="post"><button type="submit">Unsubscribe<\/button><\/form>/);
    expect(await consents()).toEqual([]);

    const forged = await fetch(local.replace(/\.[^.]+$/, '.0000'), { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(forged.status).toBe(404);
    expect(await consents()).toEqual([]);

    const oneClick = await fetch(local, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(oneClick.status).toBe(200);
    expect(await consents()).toEqual([{ status: 'opted_out', source: 'email:one-click' }]);
  });
});
