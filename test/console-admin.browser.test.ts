import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundEvents, messages } from '../core/db/schema.js';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsolePage, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

warnWithoutChromium('console admin browser tests');

let hub: TestHub;
let browser: Browser;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let admin: ConsoleUser;
let agent: ConsoleUser;
let supervisor: ConsoleUser;
let session: ConsolePage;
let channelId: string;
const secret = 'core-banking-signing-secret-0042';

/**
 * Signs in through the form and keeps only what the screens log afterwards: before signing in,
 * the session check answers 401 and the browser asks for a favicon, which the sign-in suite owns.
 */
async function signIn(user: ConsoleUser, options: Parameters<typeof signInToConsole>[3] = {}) {
  const signedIn = await signInToConsole(browser, hub, user, options);
  signedIn.errors.splice(0);
  return signedIn;
}

/** Waits until tables stop loading and finite transitions end, so a screenshot shows the screen at rest. */
async function screenshot(page: Page, name: string) {
  await page.waitForFunction(
    () => !document.querySelector('.ant-spin-blur') && document.getAnimations().every((a) => a.effect?.getTiming().iterations === Infinity),
  );
  await saveScreenshot(page, name);
}

/** Confirms an antd Popconfirm, whose buttons live in a popup outside the row. */
async function confirm(page: Page, okText: string) {
  await page.locator('.ant-popconfirm').getByRole('button', { name: okText }).click();
}

describe.skipIf(!hasChromium)('the admin console: channels, users and tokens, dead events', () => {
  beforeAll(async () => {
    [hub, browser, callback] = await Promise.all([startTestHub(), launchChromium(), startCallbackServer([204])]);
    admin = await createConsoleUser(hub, { email: 'wang.admin@bank.test', name: 'Wang Admin', role: 'admin' });
    agent = await createConsoleUser(hub, { email: 'li.agent@bank.test', name: 'Li Agent', role: 'agent' });
    supervisor = await createConsoleUser(hub, { email: 'zhao.sup@bank.test', name: 'Zhao Supervisor', role: 'supervisor' });
    session = await signIn(admin, { path: '/channels' });
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await callback?.close();
    await hub?.close();
  });

  it('adds an API channel through the form built from its schema, shows how to connect it and tests it', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('radio', { name: 'API' }).check();
    await page.getByLabel('Channel name').fill('Core banking');
    await page.getByLabel('Callback URL').fill('not a url');
    await page.getByLabel('Secret', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create channel' }).click();
    // The schema's rules are checked before anything is sent.
    await page.getByText('Enter an address starting with http:// or https://').waitFor();
    expect((await hub.api('GET', '/api/v1/channels')).body.items).toHaveLength(0);

    await page.getByLabel('Callback URL').fill(callback.url);
    await page.getByLabel('Secret', { exact: true }).fill(secret);
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByRole('heading', { name: 'Core banking' }).waitFor();
    channelId = new URL(page.url()).pathname.split('/').pop()!;
    const stored = await hub.api('GET', `/api/v1/channels/${channelId}`);
    expect(stored.body).toMatchObject({ type: 'api', name: 'Core banking', enabled: true, config: { callbackUrl: callback.url }, secretsSet: ['secret'] });

    await page.getByRole('link', { name: 'Back to channels' }).first().click();
    const row = page.getByRole('row').filter({ hasText: 'Core banking' });
    await row.waitFor();
    expect(await row.textContent()).toContain('Enabled');
    await screenshot(page, 'channels-en');
    await row.getByRole('link', { name: 'Core banking' }).click();

    await page.getByText('Secret: set').waitFor();
    expect(await page.getByRole('textbox', { name: 'Webhook URL' }).inputValue()).toBe(`${hub.baseUrl}/webhooks/api/${channelId}`);
    expect(await page.getByRole('textbox', { name: 'Signature header' }).inputValue()).toBe('X-Hub-Signature-256');

    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works').waitFor();
    await page.getByText('callback answered 204').waitFor();
    expect(callback.received.map((r) => r.method)).toContain('HEAD');
    await screenshot(page, 'channel-en');
    expect(session.errors).toEqual([]);
  });

  it('edits a field while the secret stays set, then disables the channel', async () => {
    const { page } = session;
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Replace Secret' }).waitFor();
    const changed = `${callback.url}?v=2`;
    await page.getByLabel('Callback URL').fill(changed);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved').waitFor();
    const stored = await hub.api('GET', `/api/v1/channels/${channelId}`);
    expect(stored.body).toMatchObject({ config: { callbackUrl: changed }, secretsSet: ['secret'] });
    // The secret kept is the one given at creation: a bank message signed with it is still accepted.
    const accepted = await hub.postSigned(channelId, secret, { messageId: 'm-1', from: { kind: 'phone', value: '+8613800000001' }, text: '你好' });
    expect(accepted.status).toBe(200);

    await page.getByRole('button', { name: 'Disable' }).click();
    await confirm(page, 'OK');
    await page.getByText('Channel disabled').waitFor();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await hub.api('GET', `/api/v1/channels/${channelId}`)).body.enabled).toBe(false);
    expect(session.errors).toEqual([]);
  });

  it('builds a web chat channel from its schema: lists, an optional section, defaults, and the snippet to embed', async () => {
    const { page } = session;
    await page.goto(`${hub.baseUrl}/channels/new`);
    await page.getByRole('radio', { name: 'Web chat' }).check();
    await page.getByLabel('Channel name').fill('Website');
    const origins = page.getByLabel('Allowed origins');
    await origins.fill('https://www.bank.example');
    await origins.press('Enter');
    await page.getByRole('switch', { name: 'Set Service hours' }).click();
    await page.getByLabel('Time zone').fill('Asia/Shanghai');
    await page.getByLabel('Opens').fill('09:00');
    await page.getByLabel('Closes').fill('18:00');
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByRole('heading', { name: 'Website' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').pop()!;
    const stored = await hub.api('GET', `/api/v1/channels/${id}`);
    expect(stored.body.config).toMatchObject({
      title: 'Chat with us',
      allowedOrigins: ['https://www.bank.example'],
      serviceHours: { timeZone: 'Asia/Shanghai', open: '09:00', close: '18:00', days: [1, 2, 3, 4, 5] },
    });
    expect(await page.getByRole('textbox', { name: 'Embed code' }).inputValue()).toBe(
      `<script src="${hub.baseUrl}/widget.js" data-channel="${id}" async></script>`,
    );
    expect(session.errors).toEqual([]);
  });

  it('creates a user and an API token, shown once', async () => {
    const { page } = session;
    await page.getByRole('navigation').getByRole('link', { name: 'Users & tokens' }).click();
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email').fill('chen.sup@bank.test');
    await dialog.getByLabel('Name').fill('Chen Supervisor');
    await dialog.getByLabel('Role').click();
    await page.locator('.ant-select-dropdown:visible').getByText('Supervisor', { exact: true }).click();
    await dialog.getByLabel('Initial password').fill('chen-initial-password-1');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('User created').waitFor();
    await page.getByRole('row').filter({ hasText: 'chen.sup@bank.test' }).waitFor();
    const users = (await hub.api('GET', '/api/v1/users')).body.items as Array<{ id: string; email: string; role: string }>;
    const chen = users.find((user) => user.email === 'chen.sup@bank.test');
    expect(chen?.role).toBe('supervisor');

    await page.getByRole('button', { name: 'Edit chen.sup@bank.test' }).click();
    await dialog.getByLabel('Role').click();
    await page.locator('.ant-select-dropdown:visible').getByText('Agent', { exact: true }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByText('User updated').waitFor();
    expect((await hub.api('GET', `/api/v1/users/${chen!.id}`)).body.role).toBe('agent');
    await page.getByRole('button', { name: 'Disable chen.sup@bank.test' }).click();
    await confirm(page, 'OK');
    await page.getByText('User disabled').waitFor();
    expect((await hub.api('GET', `/api/v1/users/${chen!.id}`)).body.disabled).toBe(true);
    await page.getByRole('button', { name: 'Enable chen.sup@bank.test' }).click();
    await page.getByText('User enabled').waitFor();
    expect((await hub.api('GET', `/api/v1/users/${chen!.id}`)).body.disabled).toBe(false);

    await page.getByRole('tab', { name: 'API tokens' }).click();
    await page.getByRole('button', { name: 'New token' }).click();
    await dialog.getByLabel('Token name').fill('Reporting export');
    await dialog.getByLabel('User').click();
    await page.locator('.ant-select-dropdown:visible').getByText('chen.sup@bank.test', { exact: false }).click();
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByText('This is the only time the token is shown').waitFor();
    const token = await page.getByRole('textbox', { name: 'Token' }).inputValue();
    expect(token).toMatch(/^hub_/);
    await page.getByRole('button', { name: 'Copy token' }).waitFor();
    // The token acts as Chen, now an agent: an agent's endpoint answers.
    const asToken = await fetch(`${hub.baseUrl}/api/v1/kb/articles`, { headers: { authorization: `Bearer ${token}` } });
    expect(asToken.status).toBe(200);

    await page.getByRole('button', { name: 'I have saved it' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Reporting export' });
    await row.waitFor();
    expect(await page.content()).not.toContain(token);

    await row.getByRole('button', { name: 'Revoke Reporting export' }).click();
    await confirm(page, 'OK');
    await page.getByText('Token revoked').waitFor();
    const revoked = await fetch(`${hub.baseUrl}/api/v1/kb/articles`, { headers: { authorization: `Bearer ${token}` } });
    expect(revoked.status).toBe(401);
    expect(session.errors).toEqual([]);
  });

  it('retries a dead inbound event from the screen', async () => {
    const { page } = session;
    const { body: channel } = await hub.api('POST', '/api/v1/channels', { type: 'api', name: 'Card system', config: { callbackUrl: callback.url, secret } });
    const [dead] = await hub.runtime.database.db
      .insert(inboundEvents)
      .values({
        channelId: channel.id,
        dedupeKey: 'dead-letter-7',
        payload: { messageId: 'dead-letter-7', from: { kind: 'phone', value: '+8613800000007' }, text: 'retried from the console' },
        status: 'dead',
        attempts: 5,
        error: 'simulated: the contact store was unreachable',
      })
      .returning();

    await page.getByRole('navigation').getByRole('link', { name: 'Dead events' }).click();
    const row = page.getByRole('row').filter({ hasText: 'dead-letter-7' });
    await row.waitFor();
    expect(await row.textContent()).toContain('simulated: the contact store was unreachable');
    await row.getByRole('button', { name: 'Retry dead-letter-7' }).click();
    await page.getByText('The event is queued for processing again').waitFor();
    await row.waitFor({ state: 'detached' });

    const message = await waitFor(async () => {
      const [found] = await hub.runtime.database.db.select().from(messages).where(eq(messages.inboundEventId, dead!.id));
      return found;
    }, 15_000, 'the retried message');
    expect(message.text).toBe('retried from the console');
    expect(session.errors).toEqual([]);
  });

  it('shows an agent no admin screens, and the admin API refuses their session', async () => {
    const { page, errors, close } = await signIn(agent);
    try {
      const menu = page.getByRole('navigation');
      await menu.getByRole('link').first().waitFor();
      for (const entry of ['Channels', 'Users & tokens', 'Dead events']) {
        expect(await menu.getByRole('link', { name: entry }).count()).toBe(0);
      }
      for (const path of ['/channels', `/channels/${channelId}`, '/users', '/operations']) {
        await page.goto(`${hub.baseUrl}${path}`);
        await page.getByText('Your role may not open this page.').waitFor();
      }
      const statuses = await page.evaluate(async (paths) => {
        const answers: Record<string, number> = {};
        for (const path of paths) answers[path] = (await fetch(`/api/v1${path}`, { credentials: 'include' })).status;
        return answers;
      }, ['/channels', `/channels/${channelId}`, '/channel-types', '/users', '/api-tokens', '/inbound-events']);
      expect(statuses).toEqual({
        '/channels': 403,
        [`/channels/${channelId}`]: 403,
        '/channel-types': 403,
        '/users': 403,
        '/api-tokens': 403,
        '/inbound-events': 403,
      });
      // The session itself is valid: the agent's own endpoints answer.
      expect(await page.evaluate(async () => (await fetch('/api/v1/auth/me', { credentials: 'include' })).status)).toBe(200);
      // A 403 the console caused itself would be logged; the screens never asked.
      expect(errors.filter((error) => !error.includes('403'))).toEqual([]);
    } finally {
      await close();
    }
  });

  it('lets a supervisor read a channel without changing it', async () => {
    const { page, errors, close } = await signIn(supervisor, { path: `/channels/${channelId}` });
    try {
      await page.getByRole('heading', { name: 'Core banking' }).waitFor();
      await page.getByText('Your role can view channels only').waitFor();
      expect(await page.getByRole('button', { name: 'Test connection' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Enable' }).count()).toBe(0);
      await page.getByRole('tab', { name: 'Settings' }).click();
      expect(await page.getByLabel('Callback URL').isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('shows the channel screens in Chinese', async () => {
    const { page, errors, close } = await signIn(admin, { language: 'zh', path: '/channels' });
    try {
      await page.getByRole('button', { name: '新增渠道' }).waitFor();
      const row = page.getByRole('row').filter({ hasText: 'Core banking' });
      await row.waitFor();
      // The bank's message earlier in this file is the channel's last inbound.
      expect(await row.textContent()).not.toContain('从未接收');
      await screenshot(page, 'channels-zh');
      await page.getByRole('link', { name: 'Core banking' }).click();
      await page.getByText('签名密钥：已设置').waitFor();
      expect(await page.locator('.ant-descriptions').textContent()).not.toContain('从未接收');
      await page.getByRole('textbox', { name: '回调地址（Webhook URL）' }).waitFor();
      await screenshot(page, 'channel-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
