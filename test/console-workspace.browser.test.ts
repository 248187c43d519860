import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsolePage, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';
import { startWechatChannel } from './support/wechat-channel.js';

warnWithoutChromium('agent workspace browser tests');

let hub: TestHub;
let browser: Browser;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let teamId: string;
let liNa: ConsoleUser;
let wangFang: ConsoleUser;
let supervisor: ConsoleUser;
/** The two agents' open consoles, shared by the flows that follow one conversation. */
let first: ConsolePage;
let second: ConsolePage;
let conversationId: string;
let firstProblems: () => string[];
let secondProblems: () => string[];

const phone = '+8613700000001';
const replies = () => callback.received.map((request) => JSON.parse(request.body) as { conversationId: string; text?: string });

/**
 * What went wrong on a page once signed in: errors it threw or logged, and API calls that failed.
 * The browser logs the sign-in page's own 401 (no session yet) as a failed load; those are not
 * errors of the workspace, and the API failures below are checked by address instead.
 */
function watch(consolePage: ConsolePage) {
  const failedCalls: string[] = [];
  consolePage.page.on('response', (response) => {
    if (response.status() >= 400 && response.url().includes('/api/')) failedCalls.push(`${response.status()} ${response.url()}`);
  });
  return () => [...consolePage.errors.filter((error) => !error.includes('Failed to load resource')), ...failedCalls];
}

/** An agent's own presence, chosen in the header as the agent would. */
async function goOnline(page: Page, label: string, online: string) {
  await page.getByRole('combobox', { name: label }).click();
  await page.locator('.ant-select-dropdown').getByText(online, { exact: true }).click();
}

describe.skipIf(!hasChromium)('the agent workspace in Chromium', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    callback = await startCallbackServer([200]);
    channel = await hub.createApiChannel(callback.url);
    browser = await launchChromium();
    const team = await hub.api('POST', '/api/v1/teams', { name: 'Card services' });
    expect(team.status).toBe(201);
    teamId = team.body.id;
    const profile = { languages: ['zh', 'en'], skills: ['cards'], teamIds: [teamId], capacity: 3 };
    liNa = await createConsoleUser(hub, { email: 'li.na@bank.test', name: 'Li Na', role: 'agent', profile });
    wangFang = await createConsoleUser(hub, { email: 'wang.fang@bank.test', name: '王芳', role: 'agent', profile });
    supervisor = await createConsoleUser(hub, { email: 'zhao.lei@bank.test', name: 'Zhao Lei', role: 'supervisor' });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await browser?.close();
    await callback?.close();
    await hub?.close();
  });

  it('a customer message reaches the online agent live; the agent answers in the browser and sees its delivery', async () => {
    first = await signInToConsole(browser, hub, liNa);
    firstProblems = watch(first);
    const { page } = first;
    await page.getByRole('tab', { name: 'Mine', exact: true }).waitFor();
    await goOnline(page, 'My presence', 'Online');
    await waitFor(async () => (await hub.api('GET', `/api/v1/agents`)).body.items.find((a: any) => a.userId === liNa.id)?.presence === 'online', 5_000, 'online');

    const sent = await hub.postSigned(channel.id, channel.secret, { messageId: 'atm-1', from: { kind: 'phone', value: phone, name: 'Chen Jie' }, text: 'The ATM kept my card' });
    expect(sent.status).toBe(200);
    // No reload: the assignment arrives on the agent socket and the row appears in Mine.
    const row = page.getByRole('listbox', { name: 'Mine' }).getByRole('option', { name: /Chen Jie/ });
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.textContent()).toContain('The ATM kept my card');

    await row.click();
    const timeline = page.getByRole('log', { name: 'Messages' });
    await timeline.getByText('The ATM kept my card').waitFor();
    conversationId = page.url().split('/workspace/')[1]!;
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body).toMatchObject({ assigneeId: liNa.id });

    const box = page.getByRole('textbox', { name: 'Reply' });
    await expect.poll(() => box.getAttribute('placeholder')).toContain('Ctrl+Enter to send');
    await box.fill('Sorry about that. I have blocked the card;\na new one is on its way.');
    await box.press('Control+Enter');
    await box.press('Control+Enter');

    const reply = await waitFor(async () => replies().find((r) => r.conversationId === conversationId && r.text?.includes('blocked the card')), 15_000, 'reply at the bank system');
    expect(reply.text).toBe('Sorry about that. I have blocked the card;\na new one is on its way.');
    const outbound = timeline.getByRole('article', { name: /^Agent / });
    await expect.poll(() => outbound.textContent(), { timeout: 15_000 }).toMatch(/blocked the card.*(Sent|Delivered)/s);
    // The second Ctrl+Enter found an empty box: the bank system got one reply.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(replies().filter((r) => r.text?.includes('blocked the card'))).toHaveLength(1);
    await saveScreenshot(page, 'workspace-en');
    expect(firstProblems()).toEqual([]);
  });

  it('the agent transfers the conversation with a note and a colleague sees it arrive in their list', async () => {
    second = await signInToConsole(browser, hub, wangFang, { language: 'zh' });
    secondProblems = watch(second);
    await second.page.getByRole('tab', { name: '我的', exact: true }).waitFor();
    await goOnline(second.page, '我的状态', '在线');
    await waitFor(async () => (await hub.api('GET', `/api/v1/agents`)).body.items.find((a: any) => a.userId === wangFang.id)?.presence === 'online', 5_000, 'online');

    const { page } = first;
    await page.getByRole('button', { name: 'Transfer' }).click();
    const dialog = page.getByRole('dialog').filter({ hasText: 'Transfer conversation' });
    // Opened from the keyboard, as the select's own search box sits over it.
    await dialog.getByRole('combobox', { name: 'Agent' }).press('ArrowDown');
    await page.locator('.ant-select-dropdown').getByText(/王芳/).click();
    await dialog.getByLabel('Note for the colleague').fill('Card blocked; customer wants the new card sent to the branch.');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await page.getByText('Conversation transferred').waitFor();
    // It leaves the first agent's list…
    await page.getByRole('listbox', { name: 'Mine' }).getByRole('option', { name: /Chen Jie/ }).waitFor({ state: 'detached' });

    // …and appears, live, in the colleague's.
    const row = second.page.getByRole('listbox', { name: '我的', exact: true }).getByRole('option', { name: /Chen Jie/ });
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    await second.page.getByText('Card blocked; customer wants the new card sent to the branch.').waitFor();
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body).toMatchObject({ assigneeId: wangFang.id });
    expect(firstProblems()).toEqual([]);
    expect(secondProblems()).toEqual([]);
  });

  it('a private note shows as a note and never reaches the customer', async () => {
    const { page } = second;
    await page.getByText('内部备注', { exact: true }).click();
    const box = page.getByRole('textbox', { name: '备注内容' });
    await box.fill('已核实客户身份，新卡寄往南京西路支行');
    await box.press('Control+Enter');
    const note = page.getByRole('log', { name: '消息记录' }).getByRole('article', { name: /^内部备注/ });
    await expect.poll(() => note.textContent(), { timeout: 10_000 }).toContain('已核实客户身份');

    const stored = (await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`)).body.items;
    expect(stored.find((m: any) => m.text?.includes('已核实客户身份'))).toMatchObject({ direction: 'internal' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(replies().some((r) => r.text?.includes('已核实'))).toBe(false);
    await saveScreenshot(page, 'workspace-zh');
    expect(secondProblems()).toEqual([]);
  });

  it('a supervisor merges a suggested duplicate from the contact panel and undoes it', async () => {
    const conversation = (await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body;
    const other = await hub.api('POST', '/api/v1/contacts', { name: 'Chen Jie (card centre)', identities: [{ kind: 'email', value: 'chen.jie@example.com', verified: true }] });
    expect(other.status).toBe(200);
    const otherId = other.body.contact.id as string;
    // An unverified phone the other contact also claims makes a merge suggestion, not a merge.
    const linked = await hub.api('POST', `/api/v1/contacts/${otherId}/identities`, { identities: [{ kind: 'phone', value: phone, verified: false }] });
    expect(linked.status).toBe(200);

    const signedIn = await signInToConsole(browser, hub, supervisor, { path: `/workspace/${conversationId}` });
    const { page, close } = signedIn;
    const problems = watch(signedIn);
    const panel = page.getByRole('complementary', { name: 'Contact' });
    await panel.getByText('Chen Jie (card centre)').waitFor();
    await panel.getByRole('button', { name: `Merge with the contact of ${phone}` }).click();
    await page.getByRole('dialog').filter({ hasText: 'Merge these contacts?' }).getByRole('button', { name: 'Merge' }).click();
    await page.getByText('Contacts merged').waitFor();
    await panel.getByText('chen.jie@example.com').waitFor();
    const merged = await hub.api('GET', `/api/v1/contacts/${otherId}`);
    expect(merged.body).toMatchObject({ id: conversation.contactId, resolvedFrom: otherId });

    await panel.getByRole('button', { name: 'Undo merge' }).click();
    await page.getByRole('dialog').filter({ hasText: 'Undo this merge?' }).getByRole('button', { name: 'Undo' }).click();
    await page.getByText('Merge undone').waitFor();
    await panel.getByText('Undone').waitFor();
    await panel.getByText('chen.jie@example.com').waitFor({ state: 'detached' });
    const restored = await hub.api('GET', `/api/v1/contacts/${otherId}`);
    expect(restored.body.id).toBe(otherId);
    const merges = await hub.api('GET', `/api/v1/contact-merges?contactId=${otherId}`);
    expect(merges.body.items[0]).toMatchObject({ survivorId: conversation.contactId, mergedId: otherId, undoneAt: expect.any(String) });
    expect(problems()).toEqual([]);
    await close();
  });

  it('on WeChat the reply box says until when the 48-hour window is open, and once it has closed offers the templates built from their variables', async () => {
    const wechat = await startWechatChannel(hub);
    const signedIn = await signInToConsole(browser, hub, supervisor);
    const problems = watch(signedIn);
    try {
      const id = await wechat.customerWrites('oWxBrowserWindow0001', '我的信用卡额度能提高吗？');
      const { page } = signedIn;
      await page.goto(`${hub.baseUrl}/workspace/${id}`);
      await page.getByRole('log', { name: 'Messages' }).getByText('我的信用卡额度能提高吗？').waitFor();
      const closesAt = new Date(Date.now() + 48 * 3_600_000);
      const until = `${String(closesAt.getMonth() + 1).padStart(2, '0')}-${String(closesAt.getDate()).padStart(2, '0')}`;
      await page.getByText(new RegExp(`Window open until ${until} \\d\\d:\\d\\d`)).waitFor();
      await saveScreenshot(page, 'workspace-wechat-open-en');

      // Two days later: the customer has not written since.
      await wechat.ageCustomerMessages(id, 49);
      await page.reload();
      await page.getByText('Window closed: send a template').waitFor();
      // Free text cannot go out now: the reply box makes way for the template form.
      expect(await page.getByRole('textbox', { name: 'Reply' }).count()).toBe(0);
      await page.getByRole('alert').filter({ hasText: 'Window closed' }).getByText('card-blocked', { exact: true }).waitFor();
      await page.getByLabel('first', { exact: true }).fill('您的信用卡已临时冻结');
      await page.getByLabel('keyword1', { exact: true }).fill('尾号 8821');
      await page.getByRole('button', { name: 'Send template message' }).click();
      // A variable left empty is asked for before anything is sent.
      await page.getByText('Fill in remark').waitFor();
      expect(wechat.api.callsTo('/cgi-bin/message/template/send')).toHaveLength(0);
      await page.getByLabel('remark', { exact: true }).fill('如非本人操作请致电 95555');
      // As on a loaded machine: the message's own answers (the POST, and the read the socket's
      // message.created starts) reach the browser after the socket has reported it sent.
      const late = async (route: import('playwright-core').Route) => {
        const response = await route.fetch();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await route.fulfill({ response });
      };
      await page.route('**/api/v1/conversations/*/template-messages', late);
      await page.route('**/api/v1/messages/*', late);
      await page.getByRole('button', { name: 'Send template message' }).click();

      const sent = await waitFor(async () => wechat.api.callsTo('/cgi-bin/message/template/send')[0], 15_000, 'template at WeChat');
      expect(sent.body).toMatchObject({
        template_id: 'TM00015-card-blocked',
        data: { first: { value: '您的信用卡已临时冻结' }, keyword1: { value: '尾号 8821' }, remark: { value: '如非本人操作请致电 95555' } },
      });
      // Sent comes over the socket, and is kept for the message until it arrives: the fallback re-read waits 30 s.
      const bubble = page.getByRole('log', { name: 'Messages' }).getByRole('article', { name: /^Agent / });
      await expect.poll(() => bubble.textContent(), { timeout: 15_000 }).toMatch(/Template message: card-blocked.*Sent/s);
      await saveScreenshot(page, 'workspace-wechat-closed-en');
      expect(problems()).toEqual([]);
    } finally {
      await signedIn.close();
      await wechat.close();
    }
  });

  it("shows the contact's whole history across channels and conversations beside the open one, and the reply still goes to the open one", async () => {
    const wechat = await startWechatChannel(hub, 'WeChat service account');
    const zhouMin = await createConsoleUser(hub, { email: 'zhou.min@bank.test', name: 'Zhou Min', role: 'agent', profile: { languages: ['zh', 'en'], capacity: 3 } });
    // Busy: conversations are handed to them, none are routed to them.
    expect((await hub.api('PUT', `/api/v1/agents/${zhouMin.id}/presence`, { presence: 'busy' })).status).toBe(200);
    try {
      // First on WeChat: answered and resolved.
      const earlier = await wechat.customerWrites('oWxHistoryCustomer01', '信用卡账单什么时候出？');
      const { contactId } = (await hub.api('GET', `/api/v1/conversations/${earlier}`)).body;
      expect((await hub.api('POST', `/api/v1/conversations/${earlier}/transfer`, { agentId: zhouMin.id })).status).toBe(200);
      expect((await hub.api('POST', `/api/v1/conversations/${earlier}/messages`, { text: '每月 5 日出账单。' })).status).toBe(202);
      await waitFor(async () => wechat.api.callsTo('/cgi-bin/message/custom/send').length > 0, 15_000, 'reply at WeChat');
      expect((await hub.api('POST', `/api/v1/conversations/${earlier}/resolve`)).status).toBe(200);
      // Then through the bank's system, known by the phone the bank verified for this customer.
      const historyPhone = '+8613700000020';
      const linked = await hub.api('POST', `/api/v1/contacts/${contactId}/identities`, { identities: [{ kind: 'phone', value: historyPhone, verified: true }] });
      expect(linked.status).toBe(200);
      expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'history-2', from: { kind: 'phone', value: historyPhone }, text: 'My transfer did not arrive' })).status).toBe(200);
      const later = await waitFor(async () => {
        const [row] = await hub.runtime.database.query<{ conversation_id: string }>(sql`select conversation_id from messages where text = 'My transfer did not arrive'`);
        return row?.conversation_id;
      }, 10_000, 'second conversation');
      expect(later).not.toBe(earlier);
      expect((await hub.api('POST', `/api/v1/conversations/${later}/transfer`, { agentId: zhouMin.id })).status).toBe(200);

      const signedIn = await signInToConsole(browser, hub, zhouMin, { path: `/workspace/${later}` });
      const problems = watch(signedIn);
      const { page } = signedIn;
      const own = page.getByRole('log', { name: 'Messages' });
      await own.getByText('My transfer did not arrive').waitFor();
      expect(await own.getByText('信用卡账单什么时候出？').count()).toBe(0);

      const view = page.getByRole('radiogroup', { name: 'Messages shown' });
      // From the keyboard: the arrow moves to the next choice and chooses it.
      await view.getByRole('radio', { name: 'This conversation' }).focus();
      await page.keyboard.press('ArrowRight');
      const history = page.getByRole('log', { name: "The contact's whole history" });
      await history.getByText('信用卡账单什么时候出？').waitFor();
      await history.getByText('每月 5 日出账单。').waitFor();
      await history.getByText('My transfer did not arrive').waitFor();
      // Each message with its channel, and each conversation's start with its channel, status and a way there.
      const wechatQuestion = history.getByRole('article').filter({ hasText: '信用卡账单什么时候出？' });
      expect(await wechatQuestion.textContent()).toContain('WeChat service account');
      expect(await history.getByRole('article').filter({ hasText: 'My transfer did not arrive' }).textContent()).toContain('Core banking');
      expect(await history.getByRole('article').filter({ hasText: '每月 5 日出账单。' }).textContent()).toMatch(/Sent|Delivered/);
      const starts = history.getByRole('group', { name: /^Conversation started / });
      await expect.poll(() => starts.count()).toBe(2);
      expect(await starts.nth(0).textContent()).toMatch(/WeChat service account.*Resolved.*View conversation/s);
      expect(await starts.nth(1).textContent()).toMatch(/Core banking.*Open.*Current conversation/s);
      await saveScreenshot(page, 'workspace-history-en');

      // The reply box still answers the conversation that is open.
      const box = page.getByRole('textbox', { name: 'Reply' });
      await box.fill('We are tracing the transfer now.');
      await box.press('Control+Enter');
      const reply = await waitFor(async () => replies().find((r) => r.text === 'We are tracing the transfer now.'), 15_000, 'reply at the bank system');
      expect(reply.conversationId).toBe(later);
      await history.getByText('We are tracing the transfer now.').waitFor();

      await view.getByText('This conversation', { exact: true }).click();
      await own.getByText('We are tracing the transfer now.').waitFor();
      expect(await own.getByText('信用卡账单什么时候出？').count()).toBe(0);

      // The earlier conversation opens from its start in the history.
      await view.getByText('All history', { exact: true }).click();
      await starts.nth(0).getByRole('link', { name: /^View the conversation started / }).click();
      await page.waitForURL(`**/workspace/${earlier}`);
      await own.getByText('每月 5 日出账单。').waitFor();
      expect(problems()).toEqual([]);
      await signedIn.close();
    } finally {
      await wechat.close();
    }
  });

  it("shows the conversation's SLA clock counting down, then red and counting up once breached", async () => {
    const policy = await hub.api('POST', '/api/v1/sla/policies', { name: 'lost-card-fast', firstResponseSeconds: 4, resolutionSeconds: 3_600, warnPercent: 50 });
    expect(policy.status).toBe(201);
    const rule = await hub.api('POST', '/api/v1/routing/rules', { name: 'Lost cards', conditions: { keywords: ['挂失'] }, actions: { slaPolicy: 'lost-card-fast' } });
    expect(rule.status).toBe(201);
    expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'lost-1', from: { kind: 'phone', value: '+8613700000009', name: 'Liu Yang' }, text: '我要挂失银行卡' })).status).toBe(200);
    const id = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ id: string }>(
        sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id where i.kind = 'phone' and i.value = '+8613700000009'`,
      );
      return row?.id;
    }, 10_000, 'lost-card conversation');

    const signedIn = await signInToConsole(browser, hub, supervisor, { path: `/workspace/${id}` });
    const problems = watch(signedIn);
    const { page } = signedIn;
    const timer = page.getByRole('timer');
    await expect.poll(() => timer.getAttribute('aria-label'), { timeout: 10_000 }).toMatch(/^First response (due in|overdue by) \d+:\d\d$/);
    // Breached: red, and the time keeps growing.
    await expect.poll(() => timer.getAttribute('class'), { timeout: 15_000 }).toContain('ant-tag-error');
    const first = await timer.getAttribute('aria-label');
    expect(first).toMatch(/^First response overdue by/);
    await expect.poll(() => timer.getAttribute('aria-label'), { timeout: 5_000 }).not.toBe(first);
    expect(problems()).toEqual([]);
    await signedIn.close();
  });

  it('j/k and Enter open a conversation from the keyboard, Esc returns to the list, and a suggested answer goes into the reply with one click', async () => {
    const article = await hub.api('POST', '/api/v1/kb/articles', {
      title: 'Card replacement fee',
      questions: ['How much does a new card cost?', 'replacement card fee'],
      answer: 'A replacement debit card is free once a year; after that it costs 10 yuan.',
    });
    expect(article.status).toBe(201);
    const { page } = second;
    expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'fee-1', from: { kind: 'phone', value: phone }, text: 'How much does a new card cost?' })).status).toBe(200);
    await page.goto(`${hub.baseUrl}/workspace`);
    const list = page.getByRole('listbox', { name: '我的', exact: true });
    await list.getByRole('option').first().waitFor();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await expect.poll(() => list.getAttribute('aria-activedescendant')).toMatch(/^ws-row-/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/workspace\/[0-9a-f-]{36}$/);
    expect(page.url()).toContain(conversationId);

    await page.getByRole('button', { name: '插入推荐答案：Card replacement fee' }).click({ timeout: 15_000 });
    const box = page.getByRole('textbox', { name: '回复内容' });
    await expect.poll(() => box.inputValue()).toBe('A replacement debit card is free once a year; after that it costs 10 yuan.');
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);
    await box.press('Escape');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('listbox');
    expect(secondProblems()).toEqual([]);
  });

  it('resolves and reopens a conversation', async () => {
    const { page } = second;
    await page.getByRole('button', { name: '结束会话' }).click();
    await page.getByRole('button', { name: '重新打开' }).waitFor();
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body.status).toBe('resolved');
    await page.getByRole('button', { name: '重新打开' }).click();
    await page.getByRole('button', { name: '结束会话' }).waitFor();
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body.status).toBe('open');
    expect(secondProblems()).toEqual([]);
  });

  it('on a phone shows one pane at a time: the list, then the conversation, then the contact', async () => {
    expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'phone-1', from: { kind: 'phone', value: '+8613700000010', name: 'Sun Mei' }, text: '手机银行登录不了' })).status).toBe(200);
    const signedIn = await signInToConsole(browser, hub, supervisor, { viewport: { width: 390, height: 844 } });
    const problems = watch(signedIn);
    const { page } = signedIn;
    await page.goto(`${hub.baseUrl}/workspace`);
    await page.getByRole('tab', { name: 'All', exact: true }).click();
    const list = page.getByRole('listbox', { name: 'All', exact: true });
    await list.getByRole('option', { name: /Sun Mei/ }).click();
    const conversation = page.getByRole('region', { name: 'Conversation', exact: true });
    await conversation.getByRole('log', { name: 'Messages' }).waitFor();
    expect(await list.isVisible()).toBe(false);
    await saveScreenshot(page, 'workspace-phone-en');

    await page.getByRole('button', { name: 'Contact' }).click();
    await page.getByRole('complementary', { name: 'Contact' }).waitFor();
    expect(await conversation.isVisible()).toBe(false);
    await page.getByRole('button', { name: /Back to the conversation/ }).click();
    await conversation.waitFor();
    await page.getByRole('button', { name: 'Back to the list' }).click();
    await list.waitFor();
    expect(await conversation.isVisible()).toBe(false);
    expect(problems()).toEqual([]);
    await signedIn.close();
  });

  it('a conversation of 300 messages opens at the newest; scrolling to the top reads the older ones and keeps the message in view in place', async () => {
    const longPhone = '+8613700000030';
    expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'long-0', from: { kind: 'phone', value: longPhone, name: 'Long History' }, text: 'Long history #0000' })).status).toBe(200);
    const id = await waitFor(async () => {
      const [row] = await hub.runtime.database.query<{ id: string }>(
        sql`select c.id from conversations c join contact_identities i on i.contact_id = c.contact_id where i.kind = 'phone' and i.value = ${longPhone}`,
      );
      return row?.id;
    }, 10_000, 'long conversation');
    // 298 more in bulk, customer and bank in turn, every fifth one long, a few minutes apart.
    await hub.runtime.database.query(sql`
      insert into messages (conversation_id, contact_id, channel_id, identity_id, direction, author_kind, content_kind, text, status, sent_at, created_at, updated_at)
      select c.id, c.contact_id, ${channel.id}::uuid, i.id,
             case when k % 2 = 1 then 'inbound' else 'outbound' end, case when k % 2 = 1 then 'contact' else 'agent' end, 'text',
             'Long history #' || lpad(k::text, 4, '0') || case when k % 5 = 0
               then '. A longer message that wraps over several lines, as customers describe a card transaction they do not recognise and ask what to do next.'
               else '' end,
             case when k % 2 = 1 then 'received' else 'delivered' end,
             case when k % 2 = 1 then null else now() - ((300 - k) * 7 || ' minutes')::interval end,
             now() - ((300 - k) * 7 || ' minutes')::interval, now() - ((300 - k) * 7 || ' minutes')::interval
      from generate_series(1, 298) k
      join conversations c on c.id = ${id}::uuid
      join contact_identities i on i.contact_id = c.contact_id and i.kind = 'phone'
      order by k`);
    // And the newest, from the customer now: message 300.
    expect((await hub.postSigned(channel.id, channel.secret, { messageId: 'long-299', from: { kind: 'phone', value: longPhone }, text: 'Newest: is my card blocked now?' })).status).toBe(200);
    await waitFor(async () => (await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from messages where conversation_id = ${id}::uuid`))[0]?.n === 300, 10_000, '300 messages');

    const signedIn = await signInToConsole(browser, hub, supervisor);
    const problems = watch(signedIn);
    const { page } = signedIn;
    const pageReads: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes(`/conversations/${id}/messages`)) pageReads.push(request.url());
    });
    await page.goto(`${hub.baseUrl}/workspace`);
    await page.getByRole('tab', { name: 'All', exact: true }).click();
    await page.getByRole('listbox', { name: 'All', exact: true }).getByRole('option', { name: /Long History/ }).click();
    await page.waitForURL(`**/workspace/${id}`);
    const log = page.getByRole('log', { name: 'Messages' });
    // The newest message as the API has it (in the whole suite a colleague's or the bot's answer may follow the customer's).
    const latest = (await hub.api('GET', `/api/v1/conversations/${id}/messages?order=desc&limit=1`)).body.items[0];
    expect(latest.text).toBeTruthy();
    const newest = log.locator('article', { hasText: latest.text });
    await newest.waitFor();
    /** Whether an element lies wholly within the log's visible box. */
    const inView = async (locator: typeof newest) => {
      const [outer, inner] = await Promise.all([log.boundingBox(), locator.boundingBox()]);
      return !!outer && !!inner && inner.y >= outer.y - 1 && inner.y + inner.height <= outer.y + outer.height + 1;
    };
    await expect.poll(() => inView(newest), { timeout: 5_000 }).toBe(true);
    // It stays there once the rows are measured, and opening read the newest page only.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await inView(newest)).toBe(true);
    expect(pageReads).toHaveLength(1);

    // To the top of what is loaded: the older page is read, and the message the agent was looking at stays put.
    await log.evaluate((el) => (el.scrollTop = 0));
    const oldestLoaded = log.locator('article', { hasText: 'Long history #0200' });
    await oldestLoaded.waitFor();
    const before = (await oldestLoaded.boundingBox())!;
    await expect.poll(() => pageReads.length, { timeout: 10_000 }).toBe(2);
    await log.locator('article', { hasText: 'Long history #0199' }).waitFor();
    // The rows read in are measured over a few frames; the message must settle where it was.
    const moved = async () => {
      const after = await oldestLoaded.boundingBox();
      return after && (await inView(oldestLoaded)) ? Math.abs(after.y - before.y) : Infinity;
    };
    await expect.poll(moved, { timeout: 5_000 }).toBeLessThan(48);
    expect(await log.evaluate((el) => el.scrollTop)).toBeGreaterThan(400);
    expect(problems()).toEqual([]);
    await signedIn.close();
  });
});
