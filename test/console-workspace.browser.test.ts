import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsolePage, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

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
});
