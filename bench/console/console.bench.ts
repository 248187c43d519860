/**
 * Console benchmark: the agent workspace with 10,000 conversations in one agent's Mine list and
 * one conversation of 2,000 messages, driven in Debian's Chromium (playwright-core) against a
 * whole hub started in this process (test/support/test-hub.ts) on PostgreSQL and Redis.
 *
 * It reports, for the list and for the timeline: the time to open, the rows/bubbles in the DOM,
 * scrolling through all of it (requestAnimationFrame deltas measured in the page, long tasks,
 * stalls at the loaded end, API page requests) and the JS heap; and, as the machine's own
 * reference that day, the same frame measurement on a trivial page of 50 plain rows.
 *
 *   npm run bench:console
 *   BENCH_CONVERSATIONS=2000 BENCH_MESSAGES=500 BENCH_STEP_PX=600 npm run bench:console
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { openDatabase } from '../../core/db/client.js';
import { ensureConsoleBuilt } from '../../server/console-build.js';
import { chromiumPath, hasChromium, launchChromium } from '../../test/support/chromium.js';
import { createConsoleUser, signInToConsole } from '../../test/support/console-browser.js';
import { databaseUrl, withAdmin } from '../../test/support/databases.js';
import { startTestHub, type TestHub } from '../../test/support/test-hub.js';

const conversationCount = Number(process.env.BENCH_CONVERSATIONS ?? 10_000);
const messageCount = Number(process.env.BENCH_MESSAGES ?? 2_000);
/** Pixels scrolled per animation frame: about ten list rows, a brisk flick of the wheel. */
const stepPx = Number(process.env.BENCH_STEP_PX ?? 840);
const scrollTimeoutMs = Number(process.env.BENCH_SCROLL_TIMEOUT_MS ?? 600_000);
const run = randomBytes(4).toString('hex');
const template = `hub_bench_console_${run}_template`;

/**
 * startTestHub copies the template database the test runner's global setup provides (vitest's
 * inject). Outside vitest the bench migrates its own template and provides it the same way.
 */
async function provideTemplate() {
  await withAdmin((s) => s.unsafe(`create database ${template}`));
  const database = await openDatabase({ databaseUrl: databaseUrl(template), dataDir: '.', poolSize: 1 });
  await database.migrate();
  await database.close();
  (globalThis as Record<string, unknown>).__vitest_worker__ = { providedContext: { templateDatabase: template } };
}

async function dropRunDatabases() {
  await withAdmin(async (s) => {
    const left = await s<{ datname: string }[]>`select datname from pg_database where datname like ${`hub_bench_console_${run}_%`}`;
    for (const { datname } of left) await s.unsafe(`drop database if exists ${datname} with (force)`);
  });
}

/** Bulk rows, valid for the API: contacts with a phone, conversations assigned to the agent, a last message each. */
async function seed(hub: TestHub, agentId: string, channelId: string) {
  const db = hub.runtime.database;
  const started = Date.now();
  const n = conversationCount;
  // Valid v4 uuids (the API checks ids), numbered. Conversation i (1 = the most recently active) belongs to contact i; the first one holds the long timeline.
  await db.query(sql`
    insert into contacts (id, name, language, created_at, updated_at)
    select format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0'))::uuid, case when i = 1 then 'Timeline Customer' else 'Customer ' || lpad(i::text, 5, '0') end, 'en',
           now() - interval '30 days', now() - interval '30 days'
    from generate_series(1, ${n}) i`);
  await db.query(sql`
    insert into contact_identities (contact_id, kind, value, verified, source)
    select format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0'))::uuid, 'phone', '+86138' || lpad(i::text, 8, '0'), true, 'bench'
    from generate_series(1, ${n}) i`);
  await db.query(sql`
    insert into conversations (id, contact_id, status, priority, assignee_id, last_channel_id, last_message_at, created_at, updated_at,
                               seen_channel_ids, routing_status, handed_over_at, assigned_at, routing_language)
    select format('00000000-0000-4000-9000-%s', lpad(i::text, 12, '0'))::uuid, format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0'))::uuid, 'open', case when i % 17 = 0 then 2 else 1 end, ${agentId}::uuid,
           ${channelId}::uuid, now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval - interval '1 day',
           now() - (i || ' minutes')::interval, array[${channelId}::uuid], 'assigned', now() - (i || ' minutes')::interval - interval '1 day',
           now() - (i || ' minutes')::interval - interval '1 day', 'en'
    from generate_series(1, ${n}) i`);
  // One customer message for each conversation but the first, at its last activity.
  await db.query(sql`
    insert into messages (conversation_id, contact_id, channel_id, identity_id, direction, author_kind, content_kind, text, status, created_at, updated_at)
    select format('00000000-0000-4000-9000-%s', lpad(i::text, 12, '0'))::uuid, format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0'))::uuid, ${channelId}::uuid, ci.id, 'inbound', 'contact', 'text',
           'Hello, I have a question about my credit card statement, reference ' || i, 'received',
           now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
    from generate_series(2, ${n}) i
    join contact_identities ci on ci.contact_id = format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0'))::uuid`);
  // The long conversation: customer and agent in turn, a few minutes apart over several days (day separators).
  await db.query(sql`
    insert into messages (conversation_id, contact_id, channel_id, identity_id, direction, author_kind, author_id, content_kind, text, status,
                          sent_at, created_at, updated_at)
    select '00000000-0000-4000-9000-000000000001'::uuid, '00000000-0000-4000-8000-000000000001'::uuid, ${channelId}::uuid, ci.id,
           case when k % 2 = 1 then 'inbound' else 'outbound' end,
           case when k % 2 = 1 then 'contact' else 'agent' end,
           case when k % 2 = 1 then null else ${agentId}::uuid end,
           'text',
           'Timeline message #' || lpad(k::text, 4, '0') || case when k % 5 = 0
             then '. A longer message that wraps over several lines, as customers describe a card transaction they do not recognise, the shop, the amount and the day it happened, and ask what to do next.'
             else '' end,
           case when k % 2 = 1 then 'received' else 'delivered' end,
           case when k % 2 = 1 then null else now() - ((${messageCount} - k) * 7 || ' minutes')::interval - interval '1 minute' end,
           now() - ((${messageCount} - k) * 7 || ' minutes')::interval - interval '1 minute',
           now() - ((${messageCount} - k) * 7 || ' minutes')::interval - interval '1 minute'
    from generate_series(1, ${messageCount}) k
    join contact_identities ci on ci.contact_id = '00000000-0000-4000-8000-000000000001'::uuid
    order by k`);
  await db.query(sql`analyze contacts; analyze contact_identities; analyze conversations; analyze messages`);
  const [bigId] = await db.query<{ id: string }>(sql`select '00000000-0000-4000-9000-000000000001'::uuid::text as id`);
  return { bigId: bigId!.id, seedSeconds: (Date.now() - started) / 1000 };
}

/** tsx (esbuild keepNames) wraps named functions in __name(), which a page does not have. */
const nameShim = 'window.__name = window.__name || ((f) => f)';

/** What the instruments keep on the page's window. */
interface InstrumentedWindow {
  __longTasks: { start: number; duration: number }[];
}

/** In-page instruments, installed before the console's own scripts on every load. */
const instruments = () => {
  const w = window as unknown as InstrumentedWindow;
  w.__longTasks = [] as { start: number; duration: number }[];
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* no long-task timing in this browser */
  }
};

/**
 * Scrolls `selector` by `step` px a frame (negative: up) until `done()` holds in the page,
 * recording every rAF delta, the stalls at the loaded end and the most rows seen in the DOM.
 */
async function scrollThrough(page: Page, selector: string, step: number, doneExpr: string, rowSelector: string, timeoutMs: number) {
  await page.evaluate(nameShim);
  return page.evaluate(
    ({ selector, step, doneExpr, rowSelector, timeoutMs }) =>
      new Promise<{ deltas: number[]; ms: number; stalls: number; stalledMs: number; maxRows: number; maxNodes: number; timedOut: boolean; longTasks: number[] }>(
        (resolve) => {
          const el = document.querySelector(selector) as HTMLElement;
          const done = new Function(`return (${doneExpr});`) as () => boolean;
          const w = window as unknown as InstrumentedWindow;
          const tasksBefore = w.__longTasks.length;
          const deltas: number[] = [];
          let last = performance.now();
          const started = last;
          let stalls = 0;
          let stalledMs = 0;
          let stalledSince: number | undefined;
          let maxRows = 0;
          let maxNodes = 0;
          let frame = 0;
          const tick = (now: number) => {
            deltas.push(now - last);
            last = now;
            frame++;
            maxRows = Math.max(maxRows, el.querySelectorAll(rowSelector).length);
            if (frame % 30 === 0) maxNodes = Math.max(maxNodes, document.getElementsByTagName('*').length);
            const atEnd = step > 0 ? el.scrollTop + el.clientHeight >= el.scrollHeight - 1 : el.scrollTop <= 0;
            const finished = done();
            if (finished || now - started > timeoutMs) {
              const tasks = (w.__longTasks as { start: number; duration: number }[]).slice(tasksBefore).filter((t) => t.start >= started).map((t) => t.duration);
              resolve({ deltas, ms: now - started, stalls, stalledMs, maxRows, maxNodes, timedOut: !finished, longTasks: tasks });
              return;
            }
            if (atEnd) {
              if (stalledSince === undefined) {
                stalledSince = now;
                stalls++;
              }
            } else if (stalledSince !== undefined) {
              stalledMs += now - stalledSince;
              stalledSince = undefined;
            }
            el.scrollTop += step;
            requestAnimationFrame(tick);
          };
          requestAnimationFrame((now) => {
            last = now;
            requestAnimationFrame(tick);
          });
        },
      ),
    { selector, step, doneExpr, rowSelector, timeoutMs },
  );
}

function frameStats(deltas: number[]) {
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    frames: sorted.length,
    p50: round(at(50)),
    p95: round(at(95)),
    p99: round(at(99)),
    max: round(sorted.at(-1) ?? 0),
    over33msPercent: round((100 * sorted.filter((d) => d > 33.4).length) / Math.max(1, sorted.length)),
    over50msPercent: round((100 * sorted.filter((d) => d > 50).length) / Math.max(1, sorted.length)),
  };
}

function taskStats(durations: number[]) {
  return {
    count: durations.length,
    over200ms: durations.filter((d) => d > 200).length,
    maxMs: Math.round(Math.max(0, ...durations)),
  };
}

async function heapMb(cdp: CDPSession) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { usedMb: Math.round(value('JSHeapUsedSize') / 1e5) / 10, totalMb: Math.round(value('JSHeapTotalSize') / 1e5) / 10, domNodes: value('Nodes') };
}

/** The reference: the same frame measurement on a trivial page, a div of 50 plain rows scrolled back and forth. */
async function reference(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto('about:blank');
  await page.evaluate(() => {
    (window as unknown as Record<string, unknown>).__longTasks = [];
    const box = document.createElement('div');
    box.id = 'ref';
    box.style.cssText = 'height:600px;width:400px;overflow:auto;font:14px sans-serif';
    for (let i = 0; i < 50; i++) {
      const row = document.createElement('div');
      row.className = 'r';
      row.style.cssText = 'height:84px;border-bottom:1px solid #ddd;padding:8px';
      row.textContent = `Row ${i + 1}`;
      box.append(row);
    }
    document.body.append(box);
  });
  // Down and up again (50 rows are few), for about 6 s: the order of the workspace's own scrolls.
  const deltas: number[] = [];
  const started = Date.now();
  while (Date.now() - started < 6_000) {
    for (const step of [stepPx / 8, -stepPx / 8]) {
      const done = step > 0 ? 'document.getElementById("ref").scrollTop + 600 >= document.getElementById("ref").scrollHeight - 1' : 'document.getElementById("ref").scrollTop <= 0';
      const result = await scrollThrough(page, '#ref', step, done, '.r', 10_000);
      deltas.push(...result.deltas);
    }
  }
  await context.close();
  return frameStats(deltas);
}

const progress = (...what: unknown[]) => console.error(new Date().toISOString().slice(11, 19), ...what);

async function main() {
  if (!hasChromium) throw new Error(`${chromiumPath} is missing (apt-get install chromium fonts-noto-cjk)`);
  await ensureConsoleBuilt(() => {});
  await provideTemplate();
  let hub: TestHub | undefined;
  let browser: Browser | undefined;
  try {
    hub = await startTestHub();
    const channel = await hub.createApiChannel('http://127.0.0.1:9/unused');
    const agent = await createConsoleUser(hub, { email: 'li.na@bank.test', name: 'Li Na', role: 'agent', profile: { languages: ['en'], capacity: 3 } });
    const { bigId, seedSeconds } = await seed(hub, agent.id, channel.id);
    // The API agrees with the seed: the list pages, and the conversation reads.
    const check = await hub.api('GET', `/api/v1/conversations?view=all&limit=1`);
    if (check.status !== 200 || !check.body.nextCursor) throw new Error(`list check failed: ${check.status} ${JSON.stringify(check.body).slice(0, 300)}`);

    progress('seeded in', seedSeconds, 's');
    browser = await launchChromium();
    const referenceFrames = await reference(browser);

    const signedIn = await signInToConsole(browser, hub, agent);
    const { page } = signedIn;
    const problems: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400 && response.url().includes('/api/')) problems.push(`${response.status()} ${response.url()}`);
    });
    const listRequests: string[] = [];
    const messageRequests: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/v1/conversations') listRequests.push(url.search);
      if (url.pathname === `/api/v1/conversations/${bigId}/messages`) messageRequests.push(url.search);
    });
    await page.context().addInitScript(nameShim);
    await page.context().addInitScript(instruments);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.evaluate(() => localStorage.setItem('hub.workspace.tab', 'mine'));

    // 1. Open the workspace: a full load of /workspace, to the first rows of Mine.
    const list = page.getByRole('listbox', { name: 'Mine' });
    const openStarted = Date.now();
    await page.goto(`${hub.baseUrl}/workspace`);
    await list.getByRole('option').first().waitFor({ timeout: 30_000 });
    const listOpenMs = Date.now() - openStarted;
    const listOpenInPage = await page.evaluate(() => ({
      sinceNavigationMs: Math.round(performance.now()),
      longTasks: (window as unknown as { __longTasks: { duration: number }[] }).__longTasks.map((t) => t.duration),
    }));
    await page.waitForTimeout(1_000);
    progress('list open', listOpenMs);
    const listOpen = {
      msFromGoto: listOpenMs,
      msFromNavigationStart: listOpenInPage.sinceNavigationMs,
      longTasksDuringOpen: taskStats(listOpenInPage.longTasks),
      rowsInDom: await list.getByRole('option').count(),
      listRequests: listRequests.length,
      heap: await heapMb(cdp),
    };

    // 2. Scroll Mine to its end: every one of the conversations, paged in as it goes.
    const requestsBefore = listRequests.length;
    const listDone = `document.querySelectorAll('[role=listbox] [role=option]').length > 0 && document.querySelector('.ws-list-footer').textContent.replace(/,/g, '').includes('${conversationCount}') && !document.querySelector('.ws-list-footer').textContent.includes('+') && (() => { const el = document.querySelector('.ws-list-scroll'); return el.scrollTop + el.clientHeight >= el.scrollHeight - 1; })()`;
    const listScroll = await scrollThrough(page, '.ws-list-scroll', stepPx, listDone, '[role=option]', scrollTimeoutMs);
    const footer = await page.locator('.ws-list-footer').textContent();
    const lastRowShown = await list.getByRole('option', { name: new RegExp(`Customer ${String(conversationCount).padStart(5, '0')}`) }).count();
    progress('list scrolled', listScroll.ms, listScroll.timedOut, footer);
    const listResult = {
      reachedEnd: !listScroll.timedOut && lastRowShown === 1,
      footer,
      seconds: Math.round(listScroll.ms / 100) / 10,
      frames: frameStats(listScroll.deltas),
      longTasks: taskStats(listScroll.longTasks),
      stallsAtLoadedEnd: listScroll.stalls,
      stalledSeconds: Math.round(listScroll.stalledMs / 100) / 10,
      pageRequests: listRequests.length - requestsBefore,
      maxRowsInDom: listScroll.maxRows,
      maxDomNodes: listScroll.maxNodes,
      heapAfter: await heapMb(cdp),
    };

    // 3. The long conversation: a fresh load of /workspace, then open it from the top of the list.
    await page.goto(`${hub.baseUrl}/workspace`);
    const row = list.getByRole('option', { name: /Timeline Customer/ });
    await row.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    const timeline = page.getByRole('log', { name: 'Messages' });
    const newest = `Timeline message #${String(messageCount).padStart(4, '0')}`;
    const oldest = 'Timeline message #0001';
    const tasksBeforeOpen = await page.evaluate(() => (window as unknown as { __longTasks: unknown[] }).__longTasks.length);
    const messagesBefore = messageRequests.length;
    const clickAt = Date.now();
    await row.click();
    // The newest message should be what the log opens at; a log left elsewhere is a finding, not the end of the run.
    const newestShown = await timeline
      .getByText(newest)
      .waitFor({ timeout: 15_000 })
      .then(() => true)
      .catch(async () => {
        await page.screenshot({ path: '/tmp/console-bench-timeline.png' });
        return false;
      });
    const timelineOpenMs = Date.now() - clickAt;
    // The newest message is in the DOM; is it in view at the bottom of the log?
    const newestInView = await page.evaluate((text) => {
      const log = document.querySelector('[role=log]')!;
      const bubble = [...log.querySelectorAll('article')].find((a) => a.textContent?.includes(text));
      if (!bubble) return false;
      const a = bubble.getBoundingClientRect();
      const b = log.getBoundingClientRect();
      return a.bottom <= b.bottom + 1 && a.top >= b.top - 1;
    }, newest);
    await page.waitForTimeout(1_000);
    const openTasks = await page.evaluate((from) => (window as unknown as { __longTasks: { duration: number }[] }).__longTasks.slice(from).map((t) => t.duration), tasksBeforeOpen);
    const logPosition = await page.evaluate(() => {
      const log = document.querySelector('[role=log]') as HTMLElement;
      const texts = [...log.querySelectorAll('article')].map((a) => a.textContent?.match(/#\d{4}/)?.[0]);
      return { scrollTop: Math.round(log.scrollTop), scrollHeight: log.scrollHeight, clientHeight: log.clientHeight, firstInDom: texts[0], lastInDom: texts.at(-1) };
    });
    progress('timeline open', timelineOpenMs, newestShown, logPosition);
    const timelineOpen = {
      msFromClick: newestShown ? timelineOpenMs : null,
      newestShown,
      logPosition,
      newestInView,
      longTasksDuringOpen: taskStats(openTasks),
      bubblesInDom: await timeline.getByRole('article').count(),
      messageRequests: messageRequests.length - messagesBefore,
      heap: await heapMb(cdp),
    };

    const messagesBeforeScroll = messageRequests.length;
    const timelineDone = `[...document.querySelectorAll('[role=log] article')].some((a) => a.textContent.includes('${oldest}')) && document.querySelector('[role=log]').scrollTop <= 0`;
    const timelineScroll = await scrollThrough(page, '[role=log]', -stepPx, timelineDone, 'article', scrollTimeoutMs);
    const timelineResult = {
      reachedOldest: !timelineScroll.timedOut,
      seconds: Math.round(timelineScroll.ms / 100) / 10,
      frames: frameStats(timelineScroll.deltas),
      longTasks: taskStats(timelineScroll.longTasks),
      stallsAtLoadedEnd: timelineScroll.stalls,
      stalledSeconds: Math.round(timelineScroll.stalledMs / 100) / 10,
      pageRequests: messageRequests.length - messagesBeforeScroll,
      maxBubblesInDom: timelineScroll.maxRows,
      maxDomNodes: timelineScroll.maxNodes,
      heapAfter: await heapMb(cdp),
    };

    const report = {
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, chromium: browser.version() },
      conversations: conversationCount,
      messages: messageCount,
      scrollStepPxPerFrame: stepPx,
      seedSeconds,
      reference: { trivialPage50Rows: referenceFrames },
      list: { open: listOpen, scrollToEnd: listResult },
      timeline: { open: timelineOpen, scrollToOldest: timelineResult },
      listRequestsSample: listRequests.slice(0, 3),
      problems: [...problems, ...signedIn.errors.filter((e) => !e.includes('Failed to load resource'))],
    };
    console.log(JSON.stringify(report, null, 2));
    await signedIn.close();
  } finally {
    await browser?.close();
    await hub?.close();
    await dropRunDatabases();
  }
}

await main();
process.exit(0);
