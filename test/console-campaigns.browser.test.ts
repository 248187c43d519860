import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

warnWithoutChromium('console campaigns browser tests');

let hub: TestHub;
let browser: Browser;
let marketer: ConsoleUser;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;

/** Picks an option of an antd select named by its label. */
async function choose(page: Page, label: string, option: string) {
  await page.getByRole('combobox', { name: label }).click();
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: option }).first().click();
}

describe.skipIf(!hasChromium)('campaign screens in Chromium', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    browser = await launchChromium();
    callback = await startCallbackServer([200]);
    await hub.createApiChannel(callback.url);
    for (const [phone, name, tier] of [
      ['+8613711110001', '赵一', 'gold'],
      ['+8613711110002', '钱二', 'gold'],
      ['+8613711110003', '孙三', 'silver'],
    ]) {
      const response = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: phone, verified: true }], name, tier, timezone: 'Asia/Shanghai' });
      expect(response.status).toBe(200);
    }
    marketer = await createConsoleUser(hub, { email: 'li.na@bank.test', name: 'Li Na', role: 'marketer' });
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await hub?.close();
  });

  it('a marketer lands on campaigns, builds an audience, writes a template, sends a campaign and sees its results', async () => {
    const { page, errors, close } = await signInToConsole(browser, hub, marketer, { language: 'en' });
    await page.getByRole('tab', { name: 'Campaigns' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/campaigns');

    await page.getByRole('tab', { name: 'Audiences' }).click();
    await page.getByRole('button', { name: 'New audience' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Gold customers');
    await page.getByRole('status').getByText('3 customers match now').waitFor();
    await page.getByLabel('Value 1').fill('gold');
    await page.getByRole('status').getByText('2 customers match now').waitFor();
    await page.getByRole('cell', { name: '钱二' }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Gold customers', exact: true }).waitFor();

    await page.getByRole('tab', { name: 'Templates' }).click();
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Gold welcome');
    await choose(page, 'Channel type', 'API');
    await page.getByLabel('Body').fill('{{name|尊敬的客户}}您好，金卡专享礼遇已到账');
    await page.getByText('尊敬的客户您好，金卡专享礼遇已到账').waitFor();
    await choose(page, 'Preview for', '赵一');
    await page.getByText('赵一您好，金卡专享礼遇已到账').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Gold welcome', exact: true }).waitFor();

    await page.getByRole('tab', { name: 'Campaigns' }).click();
    await page.getByRole('button', { name: 'New campaign' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Gold spring');
    await choose(page, 'Audience', 'Gold customers');
    await choose(page, 'Template', 'Gold welcome');
    await choose(page, 'Channel', 'Core banking');
    // Quiet hours off: the test runs at any hour.
    await page.getByRole('switch', { name: "Quiet hours (in the customer's time zone)" }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Gold spring', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Start Gold spring' }).click();

    await waitFor(async () => callback.received.length === 2 || undefined, 15_000, 'two messages at the bank system');
    expect(callback.received.map((r) => JSON.parse(r.body).text).sort()).toEqual(['赵一您好，金卡专享礼遇已到账', '钱二您好，金卡专享礼遇已到账']);

    await page.getByRole('button', { name: 'Results Gold spring' }).click();
    const results = page.getByRole('dialog', { name: 'Results: Gold spring' });
    await results.locator('canvas').first().waitFor();
    await waitFor(async () => ((await results.locator('.ant-descriptions-item-content').nth(1).textContent()) === '2' ? true : undefined), 10_000, 'two sent');
    await page.screenshot({ path: '/tmp/campaign-results.png' });
    expect(errors).toEqual([]);
    await close();
  });

  it('the campaign screens read in Chinese and English', async () => {
    for (const language of ['en', 'zh'] as const) {
      const { page, errors, close } = await signInToConsole(browser, hub, marketer, { language });
      const text = language === 'zh' ? { results: '结果', status: '已完成' } : { results: 'Results', status: 'Completed' };
      await page.getByText(text.status).waitFor({ timeout: 15_000 });
      await saveScreenshot(page, `campaigns-list-${language}`);
      await page.getByRole('button', { name: `${text.results} Gold spring` }).click();
      await page.locator('canvas').first().waitFor();
      await saveScreenshot(page, `campaigns-results-${language}`);
      if (language === 'zh') await page.screenshot({ path: '/tmp/campaign-results-zh.png' });
      expect(errors).toEqual([]);
      await close();
    }
  });
});
