import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackServer } from './support/callback-server.js';
import { hasChromium, launchChromium, warnWithoutChromium } from './support/chromium.js';
import { createConsoleUser, saveScreenshot, signInToConsole, type ConsoleLanguage, type ConsoleUser } from './support/console-browser.js';
import { startTestHub, type TestHub } from './support/test-hub.js';

warnWithoutChromium('console configuration browser tests');

let hub: TestHub;
let browser: Browser;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let admin: ConsoleUser;

/**
 * Signs in and keeps only what the page logs from then on: the sign-in page's own session check
 * (a 401 before anyone signed in) belongs to the sign-in screen, not to the screens tested here.
 */
async function signIn(user: ConsoleUser, language: ConsoleLanguage = 'en') {
  const session = await signInToConsole(browser, hub, user, { language });
  session.errors.length = 0;
  return session;
}

/** Lets table fades and the chart's growing bars finish, so a screenshot shows the screen at rest. */
async function shoot(page: Page, name: string) {
  await page.waitForTimeout(1200);
  await saveScreenshot(page, name);
}

/** Opens a screen from the side menu, as a person would. */
async function open(page: Page, menuItem: string) {
  await page.getByRole('navigation').getByRole('link', { name: menuItem }).click();
}

describe.skipIf(!hasChromium)('console configuration screens in Chromium', () => {
  beforeAll(async () => {
    hub = await startTestHub();
    callback = await startCallbackServer([200]);
    browser = await launchChromium();
    admin = await createConsoleUser(hub, { email: 'wang.fang@bank.test', name: 'Wang Fang', role: 'admin' });
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await hub?.close();
  });

  it('an admin edits a knowledge-base article in a drawer and the API has the new answer', async () => {
    const created = await hub.api('POST', '/api/v1/kb/articles', {
      title: 'Lost card',
      questions: ['I lost my card', '银行卡丢了怎么办'],
      answer: 'Call us.',
      tags: ['cards'],
    });
    expect(created.status).toBe(201);
    const { page, errors, close } = await signIn(admin);
    await open(page, 'Knowledge base');
    await page.getByRole('searchbox', { name: 'Search articles' }).fill('丢了');
    await page.getByRole('button', { name: 'Edit Lost card' }).click();
    const drawer = page.getByRole('dialog', { name: 'Edit article: Lost card' });
    await drawer.getByRole('textbox', { name: 'Answer' }).fill('Freeze it in the app at once, then call 95588 for a new card.');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Article saved').waitFor();
    await page.getByRole('cell', { name: /Freeze it in the app at once/ }).waitFor();

    const stored = await hub.api('GET', `/api/v1/kb/articles/${created.body.id}`);
    expect(stored.body).toMatchObject({ answer: 'Freeze it in the app at once, then call 95588 for a new card.', questions: ['I lost my card', '银行卡丢了怎么办'], tags: ['cards'] });
    expect(errors).toEqual([]);
    await close();
  });

  it('an admin creates a team and puts an agent in it with skills and capacity through the drawer', async () => {
    const agent = await createConsoleUser(hub, { email: 'li.na@bank.test', name: 'Li Na', role: 'agent', profile: { capacity: 2, languages: ['zh'] } });
    const { page, errors, close } = await signIn(admin);
    await open(page, 'Teams');
    await page.getByRole('button', { name: 'New team' }).click();
    await page.getByLabel('Team name').fill('Card services');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Card services', exact: true }).waitFor();
    const team = (await hub.api('GET', '/api/v1/teams')).body.items.find((t: any) => t.name === 'Card services');
    expect(team).toBeDefined();

    await open(page, 'Agents');
    await page.getByRole('button', { name: 'Edit Li Na' }).click();
    const drawer = page.getByRole('dialog', { name: 'Agent profile: Li Na' });
    await drawer.getByLabel('Skills').fill('cards');
    await drawer.getByLabel('Skills').press('Enter');
    await drawer.getByLabel('Skills').fill('fraud');
    await drawer.getByLabel('Skills').press('Enter');
    await drawer.getByLabel('Teams').fill('Card');
    await drawer.getByLabel('Teams').press('Enter');
    await drawer.getByLabel('Capacity', { exact: true }).fill('4');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Agent profile saved').waitFor();
    await page.getByRole('row', { name: /Li Na/ }).getByText('Card services').waitFor();

    const profile = (await hub.api('GET', '/api/v1/agents')).body.items.find((a: any) => a.userId === agent.id);
    expect(profile).toMatchObject({ skills: ['cards', 'fraud'], capacity: 4, teamIds: [team.id], languages: ['zh'] });
    expect(errors).toEqual([]);
    await close();
  });

  it('an admin creates a routing rule through the form and the API lists it', async () => {
    const team = await hub.api('POST', '/api/v1/teams', { name: 'Fraud desk' });
    const { page, errors, close } = await signIn(admin);
    await open(page, 'Routing rules');
    await page.getByRole('button', { name: 'New rule' }).click();
    const drawer = page.getByRole('dialog', { name: 'New routing rule' });
    await drawer.getByLabel('Rule name').fill('Stolen cards');
    for (const keyword of ['挂失', '盗刷']) {
      await drawer.getByLabel('Keywords').fill(keyword);
      await drawer.getByLabel('Keywords').press('Enter');
    }
    // Without an action the form says what is missing instead of sending a rule the API refuses.
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.getByText('Set at least one action', { exact: true }).first().waitFor();
    await drawer.getByLabel('Team', { exact: true }).fill('Fraud');
    await drawer.getByLabel('Team', { exact: true }).press('Enter');
    await drawer.getByLabel('Priority').click();
    await page.getByTitle('Urgent', { exact: true }).click();
    await drawer.getByLabel('SLA policy').fill('urgent-5min');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Rule saved').waitFor();
    await page.getByRole('cell', { name: 'Stolen cards', exact: true }).waitFor();
    await page.getByText('Keywords: 挂失, 盗刷').waitFor();

    const rules = (await hub.api('GET', '/api/v1/routing/rules')).body.items;
    expect(rules).toEqual([
      expect.objectContaining({
        name: 'Stolen cards',
        enabled: true,
        conditions: { keywords: ['挂失', '盗刷'] },
        actions: { teamId: team.body.id, priority: 3, slaPolicy: 'urgent-5min' },
      }),
    ]);
    expect(errors).toEqual([]);
    await close();
  });

  it('a supervisor sees the waiting count go from 0 to 1 live when a customer writes with nobody online', async () => {
    const supervisor = await createConsoleUser(hub, { email: 'zhao.lei@bank.test', name: 'Zhao Lei', role: 'supervisor' });
    const channel = await hub.createApiChannel(callback.url);
    const { page, errors, close } = await signIn(supervisor);
    const waiting = page.getByRole('group', { name: 'Waiting' });
    await expect.poll(() => waiting.textContent(), { timeout: 10_000 }).toBe('Waiting0');
    // The live feed is up before the customer writes, so the change can only arrive through it.
    await page.getByLabel('Live updates connected').waitFor();

    const sent = await hub.postSigned(channel.id, channel.secret, { messageId: 'sup-1', from: { kind: 'phone', value: '+8613900000001' }, text: '我要挂失' });
    expect(sent.status).toBe(200);
    await expect.poll(() => waiting.textContent(), { timeout: 15_000 }).toBe('Waiting1');
    await page.getByRole('row', { name: /Li Na/ }).waitFor();
    expect(errors).toEqual([]);
    await close();
  });

  it.each<ConsoleLanguage>(['en', 'zh'])('the supervisor and knowledge-base screens read well in %s', async (language) => {
    const { page, errors, close } = await signIn(admin, language);
    await page.getByRole('group', { name: language === 'en' ? 'Waiting' : '排队中' }).waitFor();
    await page.getByRole('row', { name: /Li Na/ }).waitFor();
    await shoot(page, `supervisor-${language}`);
    await open(page, language === 'en' ? 'Knowledge base' : '知识库');
    await page.getByText('Lost card', { exact: true }).waitFor();
    await shoot(page, `kb-${language}`);
    await open(page, language === 'en' ? 'Routing rules' : '路由规则');
    await page.getByText('Stolen cards', { exact: true }).waitFor();
    await shoot(page, `routing-${language}`);
    await open(page, language === 'en' ? 'Agents' : '坐席');
    await page.getByRole('row', { name: /Li Na/ }).waitFor();
    await shoot(page, `agents-${language}`);
    expect(errors).toEqual([]);
    await close();
  });
});
