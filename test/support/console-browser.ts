import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../core/users/users.js';
import type { TestHub } from './test-hub.js';

export type ConsoleRole = 'admin' | 'supervisor' | 'agent' | 'marketer';
export type ConsoleLanguage = 'en' | 'zh';

export interface ConsoleUser {
  id: string;
  email: string;
  name: string;
  password: string;
  role: ConsoleRole;
}

const texts = {
  en: { email: 'Email', password: 'Password', submit: 'Sign in' },
  // antd spaces out a two-character Chinese button label: its accessible name is 登 录.
  zh: { email: '邮箱', password: '密码', submit: /^登\s?录$/ },
} as const;

/** A user who signs in with a password, with an agent profile set over HTTP when `profile` is given. */
export async function createConsoleUser(
  hub: TestHub,
  options: { email: string; name: string; role: ConsoleRole; profile?: Record<string, unknown> },
): Promise<ConsoleUser> {
  const password = `pass-${options.email}-long`;
  const user = await createUser(hub.runtime.database.db, null, { email: options.email, name: options.name, role: options.role, password });
  if (options.profile) {
    const response = await hub.api('PUT', `/api/v1/agents/${user.id}`, options.profile);
    if (response.status !== 200) throw new Error(`agent profile failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return { id: user.id, email: options.email, name: options.name, password, role: options.role };
}

export interface ConsolePage {
  page: Page;
  /** Errors the page threw or logged; a flow that ends with any has a defect. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Opens the console in its own browser context (its own cookies) at a laptop's 1280×720, in the
 * language the browser prefers, and signs in through the sign-in form as a person would.
 */
export async function signInToConsole(
  browser: Browser,
  hub: TestHub,
  user: ConsoleUser,
  options: { language?: ConsoleLanguage; viewport?: { width: number; height: number }; path?: string } = {},
): Promise<ConsolePage> {
  const language = options.language ?? 'en';
  const context = await browser.newContext({
    locale: language === 'zh' ? 'zh-CN' : 'en-US',
    viewport: options.viewport ?? { width: 1280, height: 720 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  await page.goto(`${hub.baseUrl}${options.path ?? '/'}`);
  const text = texts[language];
  await page.getByLabel(text.email).fill(user.email);
  await page.getByLabel(text.password, { exact: true }).fill(user.password);
  await page.getByRole('button', { name: text.submit }).click();
  // The header is there once signed in, on a laptop and on a phone (where the menu is folded away).
  await page.getByRole('banner').waitFor();
  return { page, errors, close: () => context.close() };
}

/**
 * Saves a screenshot under $CONSOLE_SCREENSHOTS (unset: none), named for the screen and language;
 * `npm run screenshots` sets it to docs/screenshots to refresh the README's pictures.
 */
export async function saveScreenshot(page: Page, name: string) {
  const dir = process.env.CONSOLE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  // Drawers and charts animate in; a picture of them half-way in helps nobody. Only pictures wait.
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled' });
}
