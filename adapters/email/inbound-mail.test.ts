import { describe, expect, it } from 'vitest';
import { mailDedupeKey, sanitizeMailHtml, visibleText } from './inbound-mail.js';
import { addressFromUnsubscribeToken, baseAddress, conversationFromAddress, replyAddress, unsubscribeToken } from './reply-token.js';

describe('visibleText', () => {
  it('cuts quoted history in the forms common clients write it', () => {
    expect(visibleText('Thanks!\n\nOn Mon, 2 Nov 2026 at 10:00, Bank <care@bank.test> wrote:\n> old')).toBe('Thanks!');
    expect(visibleText('好的\r\n\r\n在 2026年11月2日 10:00，银行客服 写道：\r\n> 旧内容')).toBe('好的');
    expect(visibleText('收到\n\n------------------ 原始邮件 ------------------\n发件人: "银行客服"')).toBe('收到');
    expect(visibleText('OK\n\n-----Original Message-----\nFrom: Bank')).toBe('OK');
  });

  it('cuts the signature and keeps text that only looks similar', () => {
    expect(visibleText('请回电\n-- \n张三\n招商证券')).toBe('请回电');
    expect(visibleText('请回电\n\n发自我的iPhone')).toBe('请回电');
    expect(visibleText('My card ends -- 1234, is it blocked?')).toBe('My card ends -- 1234, is it blocked?');
  });
});

describe('sanitizeMailHtml', () => {
  it('drops scripts, event handlers, javascript links and remote images, keeps formatting', () => {
    const html = sanitizeMailHtml(
      '<p onclick="x()">Hi <b>there</b></p><script>steal()</script><a href="javascript:x()">a</a><a href="https://bank.test">b</a><img src="https://t.example/p.gif"><img src="cid:logo">',
    );
    expect(html).not.toMatch(/script|onclick|javascript|t\.example/);
    expect(html).toContain('<p>Hi <b>there</b></p>');
    expect(html).toContain('href="https://bank.test"');
    expect(html).toContain('<img src="cid:logo" />');
  });
});

describe('mailDedupeKey', () => {
  it('ignores headers relays add, but not a different body under the same Message-ID', () => {
    const mail = 'Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody';
    const relayed = `Received: from mx by relay\r\n${mail}`;
    expect(mailDedupeKey(Buffer.from(relayed)).key).toBe(mailDedupeKey(Buffer.from(mail)).key);
    expect(mailDedupeKey(Buffer.from(mail.replace('body', 'other'))).key).not.toBe(mailDedupeKey(Buffer.from(mail)).key);
    expect(mailDedupeKey(Buffer.from(mail)).messageId).toBe('a@b');
  });
});

describe('reply and unsubscribe tokens', () => {
  const secret = 'a-channel-secret-of-some-length';
  const conversationId = '3f2b8c1e-9d4a-4e6b-8c2d-1a2b3c4d5e6f';

  it('round-trips a conversation through the reply address and refuses a forged one', () => {
    const address = replyAddress('care@bank.test', secret, conversationId);
    expect(address).toMatch(/^care\+c[0-9a-f]{32}\.[0-9a-f]{10}@bank\.test$/);
    expect(conversationFromAddress(address, secret)).toBe(conversationId);
    expect(conversationFromAddress(address.toUpperCase(), secret)).toBe(conversationId);
    expect(conversationFromAddress(address, 'another-secret-entirely')).toBeUndefined();
    const otherConversation = address.replace(/\+c[0-9a-f]/, '+c0');
    expect(conversationFromAddress(otherConversation, secret)).toBeUndefined();
    expect(baseAddress(address)).toBe('care@bank.test');
  });

  it('round-trips an address through the unsubscribe token and refuses a tampered one', () => {
    const token = unsubscribeToken(secret, 'Li.Lei@Example.cn');
    expect(addressFromUnsubscribeToken(secret, token)).toBe('li.lei@example.cn');
    const [, signature] = token.split('.');
    const forged = `${Buffer.from('victim@example.cn').toString('base64url')}.${signature}`;
    expect(addressFromUnsubscribeToken(secret, forged)).toBeUndefined();
    expect(addressFromUnsubscribeToken(secret, 'garbage')).toBeUndefined();
  });
});
