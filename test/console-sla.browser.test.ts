import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, type TestHub } from './support/test-hub.js';

warnWithoutChromium('console SLA and reports browser tests');

let hub: TestHub;
let browser: Browser;
let admin: ConsoleUser;

describe.skipIf(!hasChromium)('SLA and reports screens in Chromium', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    browser = await launchChromium();
    admin = await createConsoleUser(hub, { email: 'zhao.lei@bank.test', name: 'Zhao Lei', role: 'admin' });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('an admin creates a business calendar and a policy on it, and opens the reports with their chart', async () => {
    const { page, errors, close } = await signInToConsole(browser, hub, admin, { language: 'en' });
    errors.length = 0;
    await page.getByRole('navigation').getByRole('link', { name: 'SLA policies' }).click();

    await page.getByRole('tab', { name: 'Business calendars' }).click();
    await page.getByRole('button', { name: 'New calendar' }).click();
    await page.getByLabel('Name').fill('Shanghai office');
    await page.getByLabel('Holidays (one date a line, YYYY-MM-DD)').fill('2025-10-01\n2025-10-02');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Shanghai office' }).waitFor();
    const calendars = (await hub.api('GET', '/api/v1/sla/calendars')).body.items;
    expect(calendars).toEqual([expect.objectContaining({ name: 'Shanghai office', timeZone: 'Asia/Shanghai', holidays: ['2025-10-01', '2025-10-02' ] })]);
    expect(calendars[0].hours['1']).toEqual([{ from: '09:00', to: '18:00' }]);
    expect(calendars[0].hours['6']).toBeUndefined();

    await page.getByRole('tab', { name: 'Policies' }).click();
    await page.getByRole('button', { name: 'New policy' }).click();
    await page.getByLabel('Name').fill('urgent-5min');
    await page.getByLabel('First response (s)').fill('300');
    await page.getByRole('combobox', { name: 'Business calendar' }).click();
    await page.getByTitle('Shanghai office (Asia/Shanghai)').click();
    await page.getByRole('checkbox', { name: 'Default policy' }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'urgent-5min' }).waitFor();
    const policies = (await hub.api('GET', '/api/v1/sla/policies')).body.items;
    expect(policies).toEqual([expect.objectContaining({ name: 'urgent-5min', firstResponseSeconds: 300, isDefault: true, calendarId: calendars[0].id, warnPercent: 80 })]);
    await saveScreenshot(page, 'sla-en');

    await page.getByRole('navigation').getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('columnheader', { name: 'First response p90 (s)' }).waitFor();
    await page.locator('canvas').first().waitFor();
    await page.getByText('Agent', { exact: true }).click();
    await page.getByRole('link', { name: 'Export CSV' }).waitFor();
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain('groupBy=agent');
    await saveScreenshot(page, 'reports-en');

    // The same screens in Chinese, switched from the header.
    await page.getByText('中文', { exact: true }).click();
    await page.getByRole('link', { name: '导出 CSV' }).waitFor();
    await saveScreenshot(page, 'reports-zh');
    await page.getByRole('navigation').getByRole('link', { name: 'SLA 策略' }).click();
    await page.getByRole('cell', { name: 'urgent-5min' }).waitFor();
    await saveScreenshot(page, 'sla-zh');
    expect(errors).toEqual([]);
    await close();
  });
});
