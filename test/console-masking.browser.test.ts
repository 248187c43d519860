import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, signInToConsole } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

warnWithoutChromium('console masking browser tests');

let hub: TestHub;
let browser: Browser;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;

describe.skipIf(!hasChromium)('a card number in the console', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    callback = await startCallbackServer([200]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await hub?.close();
  });

  it('shows masked until a supervisor asks for the original, and the reveal is audited', async () => {
    const channel = await hub.createApiChannel(callback.url);
    const posted = await hub.postSigned(channel.id, channel.secret, {
      messageId: 'card-1',
      from: { kind: 'phone', value: '+8613700000077', name: 'Zhou Min' },
      text: '我的卡号 6222021234567894 被盗刷了',
    });
    expect(posted.status).toBe(200);
    const conversation = await waitFor(async () => {
      const list = await hub.api('GET', '/api/v1/conversations?view=all');
      return list.body.items[0] as { id: string } | undefined;
    }, 15_000, 'the conversation');

    const supervisor = await createConsoleUser(hub, { email: 'zhao.lei@bank.test', name: 'Zhao Lei', role: 'supervisor' });
    const { page, errors, close } = await signInToConsole(browser, hub, supervisor, { path: `/workspace/${conversation.id}` });
    const bubble = page.locator('.ws-text', { hasText: '被盗刷了' });
    await expect.poll(() => bubble.innerText(), { timeout: 15_000 }).toContain('622202******7894');
    expect(await page.content()).not.toContain('6222021234567894');

    await bubble.getByRole('button', { name: 'Show original' }).click();
    await expect.poll(() => bubble.innerText(), { timeout: 10_000 }).toContain('6222021234567894');
    const audited = await hub.runtime.database.query<{ actor_user_id: string }>(sql`select actor_user_id from audit_log where action = 'message.reveal'`);
    expect(audited.map((row) => row.actor_user_id)).toEqual([supervisor.id]);
    expect(errors).toEqual([]);
    await close();
  });
});
