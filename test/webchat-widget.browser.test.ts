import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueOutboundMessage } from '../core/messages/outbound.js';
import { sha256Hex } from '../core/security/signatures.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { saveScreenshot } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

warnWithoutChromium('web chat browser tests');

let hub: TestHub;
let hostPage: Server;
let hostUrl: string;
let browser: Browser;
let channelId: string;

/** A bank's page with aggressive global styles, which must neither break nor restyle the widget. */
function hostHtml(hubUrl: string, channel: string) {
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>示例银行</title><style>* { font-family: serif !important; color: #c00 !important; } button { display: none; } body { margin: 0; padding: 24px; background: #fafafa; }</style></head>
<body><h1 id="brand">示例银行 Example Bank</h1><p>Welcome to online banking.</p><button id="host-button">host button</button>
<script src="${hubUrl}/widget.js" data-channel="${channel}" async></script></body></html>`;
}

describe.skipIf(!hasChromium)('the web chat widget in Chromium', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    hostPage = createServer((req, res) => {
      const channel = new URL(req.url ?? '/', 'http://host').searchParams.get('channel') ?? channelId;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(hostHtml(hub.baseUrl, channel));
    });
    await new Promise<void>((resolve) => hostPage.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://localhost:${(hostPage.address() as AddressInfo).port}/`;
    const { status, body } = await hub.api('POST', '/api/v1/channels', {
      type: 'webchat',
      name: 'Website',
      config: { allowedOrigins: [new URL(hostUrl).origin], title: '在线客服 Online help' },
    });
    expect(status).toBe(201);
    channelId = body.id;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => hostPage?.close(resolve));
    await hub?.close();
  });

  const widget = (page: Page) => page.locator('#hub-chat-widget');
  const rows = (page: Page) => widget(page).locator('.messages > *');

  async function openWidget(context: BrowserContext) {
    const page = await context.newPage();
    await page.goto(hostUrl);
    await widget(page).getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => widget(page).locator('.status').textContent(), { timeout: 10_000 }).toBe('Online');
    return page;
  }

  async function send(page: Page, text: string) {
    const input = widget(page).getByRole('textbox', { name: 'Message' });
    await input.fill(text);
    await input.press('Enter');
  }

  async function visitorConversation() {
    const [identity] = await waitFor(async () => {
      const found = await hub.runtime.database.query<{ contact_id: string }>(sql`select contact_id from contact_identities where kind = 'web_visitor'`);
      return found.length > 0 && found;
    });
    const list = await hub.api('GET', `/api/v1/conversations?contactId=${identity!.contact_id}`);
    return list.body.items[0] as { id: string; contactId: string };
  }

  async function storedTexts(conversationId: string) {
    const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
    return (body.items as Array<{ text: string | null; contentKind: string }>).map((m) => m.text ?? `[${m.contentKind}]`);
  }

  it('sends Chinese text and an image, shows agent replies live, restores history, and loses nothing offline', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await openWidget(context);
    expect(await page.locator('#brand').evaluate((el) => getComputedStyle(el).fontFamily)).toBe('serif');
    expect(await widget(page).getByRole('button', { name: 'Send' }).isVisible()).toBe(true);

    await send(page, '你好');
    await expect.poll(() => rows(page).last().getAttribute('data-status'), { timeout: 10_000 }).toBe('sent');

    const png = await page.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 160;
      canvas.height = 90;
      const g = canvas.getContext('2d')!;
      g.fillStyle = '#2a7de1';
      g.fillRect(0, 0, 160, 90);
      g.fillStyle = '#fff';
      g.font = '28px sans-serif';
      g.fillText('收据 receipt', 8, 55);
      return canvas.toDataURL('image/png').split(',')[1]!;
    });
    await widget(page).locator('input[type=file]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });

    const conversation = await visitorConversation();
    await expect.poll(() => storedTexts(conversation.id), { timeout: 15_000 }).toEqual(['你好', '[image]']);

    const reply = await hub.api('POST', `/api/v1/conversations/${conversation.id}/messages`, { text: '您好！请问有什么可以帮您？' });
    expect(reply.status).toBe(202);
    await expect.poll(() => rows(page).last().textContent(), { timeout: 10_000 }).toContain('您好！请问有什么可以帮您？');
    // The agent replied, so the visitor's earlier messages show as read.
    expect(await rows(page).evaluateAll((els) => els.map((el) => el.getAttribute('data-status')))).toEqual(['read', 'read', null]);
    // The panel is open, so the reply counts as read.
    await expect.poll(async () => (await hub.api('GET', `/api/v1/messages/${reply.body.id}`)).body.status, { timeout: 10_000 }).toBe('read');

    const queueNotice = await hub.runtime.database.db.transaction((tx) =>
      queueOutboundMessage(tx, hub.runtime.adapters, { conversationId: conversation.id, authorKind: 'system', text: '您前面还有 2 位客户（you are number 3 in the queue）' }),
    );
    await hub.runtime.events.publish([
      { type: 'message.created', messageId: queueNotice.id, conversationId: conversation.id, contactId: conversation.contactId, channelId, direction: 'outbound' },
    ]);
    await expect.poll(() => widget(page).locator('.system').last().textContent(), { timeout: 10_000 }).toContain('number 3 in the queue');

    await page.reload();
    await widget(page).getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(4);
    expect(await rows(page).allTextContents()).toEqual([
      expect.stringContaining('你好'),
      expect.any(String),
      expect.stringContaining('您好！请问有什么可以帮您？'),
      expect.stringContaining('number 3 in the queue'),
    ]);
    await expect.poll(() => rows(page).nth(1).locator('img').getAttribute('src'), { timeout: 10_000 }).toMatch(/^blob:/);

    // Offline: the socket drops and the message waits in the outbox; back online it goes out once.
    await context.setOffline(true);
    await expect.poll(() => widget(page).locator('.status').textContent(), { timeout: 10_000 }).toMatch(/^Offline/);
    await send(page, '离线时写的消息');
    expect(await rows(page).last().getAttribute('data-status')).toBe('sending');
    // Nothing can leave while offline; give a wrongly sent message the time to be stored.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await storedTexts(conversation.id)).toHaveLength(4);
    await context.setOffline(false);
    await expect.poll(() => rows(page).last().getAttribute('data-status'), { timeout: 20_000 }).toBe('sent');
    await expect.poll(() => storedTexts(conversation.id), { timeout: 15_000 }).toEqual([
      '你好',
      '[image]',
      '您好！请问有什么可以帮您？',
      '您前面还有 2 位客户（you are number 3 in the queue）',
      '离线时写的消息',
    ]);
    await widget(page).locator('.notice').evaluate((el) => el.setAttribute('hidden', ''));
    await saveScreenshot(page, 'webchat-desktop');

    const token = await page.evaluate((id) => localStorage.getItem(`hubchat:${id}:visitor`), channelId);
    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await mobile.addInitScript(([id, value]) => localStorage.setItem(`hubchat:${id}:visitor`, value!), [channelId, token] as const);
    const phone = await openWidget(mobile);
    await expect.poll(() => rows(phone).count(), { timeout: 10_000 }).toBe(5);
    const box = await widget(phone).locator('.panel').boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 390, height: 844 });
    await expect.poll(() => rows(phone).nth(1).locator('img').getAttribute('src'), { timeout: 10_000 }).toMatch(/^blob:/);
    await saveScreenshot(phone, 'webchat-mobile');
    await mobile.close();
    await context.close();
  });

  it('falls back to polling over HTTP when WebSockets are blocked', async () => {
    const context = await browser.newContext();
    // What a proxy that refuses upgrades looks like to the page: every socket fails to open.
    await context.addInitScript(() => {
      (window as any).WebSocket = class {
        static OPEN = 1;
        readyState = 3;
        onclose?: (event: { code: number; reason: string }) => void;
        constructor() {
          setTimeout(() => this.onclose?.({ code: 1006, reason: '' }), 10);
        }
        send() {}
        close() {}
      };
    });
    const page = await openWidget(context);
    await send(page, '代理挡住了 WebSocket');
    await expect.poll(() => rows(page).last().getAttribute('data-status'), { timeout: 15_000 }).toBe('sent');
    const token = await page.evaluate((id) => localStorage.getItem(`hubchat:${id}:visitor`), channelId);
    // Acknowledged means committed; the pipeline stores the contact and conversation moments later.
    const conversationId = await waitFor(async () => {
      const [identity] = await hub.runtime.database.query<{ contact_id: string }>(
        sql`select contact_id from contact_identities where kind = 'web_visitor' and value = ${sha256Hex(JSON.parse(token!))}`,
      );
      return identity && (await hub.api('GET', `/api/v1/conversations?contactId=${identity.contact_id}`)).body.items[0]?.id;
    }, 10_000, 'the visitor’s conversation');
    const reply = await hub.api('POST', `/api/v1/conversations/${conversationId}/messages`, { text: '轮询也能收到回复' });
    expect(reply.status).toBe(202);
    await expect.poll(() => rows(page).last().textContent(), { timeout: 15_000 }).toContain('轮询也能收到回复');
    await context.close();
  });

  it('offers the offline form outside service hours and stores what the visitor leaves', async () => {
    // Opening and closing at the same minute: nobody is ever on duty.
    const closed = await hub.api('POST', '/api/v1/channels', {
      type: 'webchat',
      name: 'After hours',
      config: { allowedOrigins: [new URL(hostUrl).origin], serviceHours: { timeZone: 'Asia/Shanghai', days: [1, 2, 3, 4, 5, 6, 7], open: '00:00', close: '00:00' } },
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${hostUrl}?channel=${closed.body.id}`);
    await widget(page).getByRole('button', { name: 'Open chat' }).click();
    const form = widget(page).locator('form.offline');
    await expect.poll(() => form.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await widget(page).locator('.status').textContent()).toBe('Offline');
    await form.getByRole('textbox', { name: 'Your name' }).fill('陈先生');
    await form.getByRole('textbox', { name: 'Your message' }).fill('请明天给我回电话');
    await form.getByRole('button', { name: 'Send' }).click();
    expect(await widget(page).locator('.notice').textContent()).toBe('Please leave an email address or a phone number.');
    await form.getByRole('textbox', { name: 'Phone' }).fill('138 0013 8001');
    await form.getByRole('button', { name: 'Send' }).click();
    const [stored] = await waitFor(async () => {
      const found = await hub.runtime.database.query<{ text: string; payload: any; name: string }>(
        sql`select m.text, m.payload, c.name from messages m join contacts c on c.id = m.contact_id where m.channel_id = ${closed.body.id}`,
      );
      return found.length > 0 && found;
    });
    expect(stored).toMatchObject({ text: '请明天给我回电话', name: '陈先生', payload: { contact: { name: '陈先生', phone: '138 0013 8001' } } });
    await context.close();
  });

  it('shows why a page on a foreign origin cannot use the chat', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The same host page, reached under another origin the channel does not list.
    await page.goto(hostUrl.replace('localhost', '127.0.0.1'));
    await widget(page).getByRole('button', { name: 'Open chat' }).click();
    await expect.poll(() => widget(page).locator('.notice').textContent(), { timeout: 10_000 }).toMatch(/may not be embedded on http:\/\/127\.0\.0\.1/);
    await context.close();
  });
});
