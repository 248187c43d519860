import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordConsent } from '../core/consents/consents.js';
import { createApiToken, createUser } from '../core/users/users.js';
import { startWorkers } from '../server/runtime.js';
import { enqueueRecipients } from '../workflows/campaign.worker.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let channel: { id: string; secret: string };
let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
let marketerToken: string;

beforeAll(async () => {
  // Workers started by the suite, so one test can stop and restart them mid-campaign.
  hub = await startTestHub({ workers: false });
  workers = await startWorkers(hub.runtime);
  callback = await startCallbackServer([200]);
  channel = await hub.createApiChannel(callback.url);
  await createUser(hub.runtime.database.db, null, { email: 'li.na@bank.test', role: 'marketer' });
  marketerToken = (await createApiToken(hub.runtime.database.db, null, 'li.na@bank.test', 'tests')).token;
});
afterAll(async () => {
  await workers?.close(5_000);
  await callback?.close();
  await hub?.close();
});

/** Calls the API as the marketer. */
async function asMarketer(method: string, path: string, body?: unknown) {
  const response = await fetch(`${hub.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${marketerToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function contact(phone: string, fields: Record<string, unknown>, extra: Array<{ kind: string; value: string }> = []) {
  const { status, body } = await hub.api('POST', '/api/v1/contacts', { identities: [{ kind: 'phone', value: phone, verified: true }, ...extra], ...fields });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.contact.id as string;
}

/** A time zone whose wall clock now reads an hour in [from, to). */
function zoneWithHour(from: number, to: number): string {
  for (let offset = -12; offset <= 14; offset++) {
    const zone = offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    if (hour >= from && hour < to) return zone;
  }
  throw new Error('no zone');
}

const sentTo = (phone: string) => callback.received.filter((r) => JSON.parse(r.body).to?.value === phone);

async function template(body: string, name = 'Card care') {
  const created = await asMarketer('POST', '/api/v1/campaign-templates', { name, channelType: 'api', body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

async function audience(name: string, filter: unknown) {
  const created = await asMarketer('POST', '/api/v1/audiences', { name, filter });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

async function runCampaign(input: Record<string, unknown>) {
  const created = await asMarketer('POST', '/api/v1/campaigns', { channelId: channel.id, ...input });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const started = await asMarketer('POST', `/api/v1/campaigns/${created.body.id}/start`);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  return created.body.id as string;
}

const results = async (id: string) => (await asMarketer('GET', `/api/v1/campaigns/${id}/results`)).body;

describe('campaigns over HTTP', () => {
  it('an audience counts exactly the contacts its filter names, with a sample, and refuses what is not in the language', async () => {
    await contact('+8613700000001', { name: '赵一', tier: 'gold', tags: ['aud'], language: 'zh-CN', attributes: { balance: 120000 } }, [{ kind: 'email', value: 'zhao@example.com' }]);
    await contact('+8613700000002', { name: '钱二', tier: 'gold', tags: ['aud'], language: 'en', attributes: { balance: 500 } });
    await contact('+8613700000003', { name: '孙三', tier: 'silver', tags: ['aud', 'vip'], language: 'zh-HK', attributes: { balance: 'n/a' } });
    const count = async (filter: unknown) => {
      const { status, body } = await asMarketer('POST', '/api/v1/audiences/preview', { filter });
      expect(status, JSON.stringify(body)).toBe(200);
      return body.count as number;
    };
    const aud = { field: 'tags', op: 'has', value: 'aud' };
    expect(await count(aud)).toBe(3);
    expect(await count({ and: [aud, { field: 'tier', op: 'eq', value: 'gold' }] })).toBe(2);
    expect(await count({ and: [aud, { field: 'identity', op: 'has', value: 'email' }] })).toBe(1);
    expect(await count({ and: [aud, { field: 'language', op: 'prefix', value: 'zh' }] })).toBe(2);
    expect(await count({ and: [aud, { field: 'attribute', key: 'balance', op: 'gt', value: 1000 }] })).toBe(1);
    expect(await count({ and: [aud, { or: [{ field: 'tier', op: 'eq', value: 'silver' }, { not: { field: 'attribute', key: 'balance', op: 'exists' } }] }] })).toBe(1);
    expect(await count({ and: [aud, { field: 'tags', op: 'has_any', value: ['vip', 'nobody'] }] })).toBe(1);
    expect(await count({ and: [aud, { field: 'last_contact', op: 'never' }] })).toBe(3);
    expect(await count({ and: [aud, { field: 'consent', op: 'opted_in', value: channel.id }] })).toBe(3);
    // A value is a value, never SQL.
    expect(await count({ field: 'tier', op: 'eq', value: "gold' or '1'='1" })).toBe(0);
    expect(await count({ and: [aud, { field: 'attribute', key: 'balance', op: 'eq', value: 500 }] })).toBe(1);

    const sample = await asMarketer('POST', '/api/v1/audiences/preview', { filter: { and: [aud, { field: 'tier', op: 'eq', value: 'gold' }] } });
    expect(sample.body.sample.map((c: { name: string }) => c.name).sort()).toEqual(['赵一', '钱二']);

    for (const bad of [
      { field: 'password_hash', op: 'eq', value: 'x' },
      { field: 'tier', op: 'like', value: '%' },
      { field: 'attribute', key: "a'; drop table contacts; --", op: 'exists' },
      { field: 'attribute', key: 'balance', op: 'gt', value: 'ten' },
    ]) {
      const refused = await asMarketer('POST', '/api/v1/audiences/preview', { filter: bad });
      expect(refused.status).toBe(400);
    }
  });

  it('a template renders a contact\'s name and attributes, with defaults and the missing ones named', async () => {
    const id = await contact('+8613700000009', { name: '周九', attributes: { card_last4: '8848' } });
    const preview = await asMarketer('POST', '/api/v1/campaign-templates/preview', {
      channelType: 'sms_twilio',
      body: '{{name}}您好，尾号{{card_last4}}的信用卡将于{{expiry|月底}}到期，积分{{points}}。',
      contactId: id,
    });
    expect(preview.status).toBe(200);
    expect(preview.body.body).toBe('周九您好，尾号8848的信用卡将于月底到期，积分。');
    expect(preview.body.missing).toEqual(['points']);
    expect(preview.body.variables).toEqual(['name', 'card_last4', 'expiry', 'points']);
    expect(preview.body.sms).toMatchObject({ encoding: 'UCS-2', segments: 1 });
  });

  it('a campaign sends once per consenting contact at the channel rate, skips the opted-out and the capped, and defers quiet hours', async () => {
    const awake = zoneWithHour(13, 22);
    const asleep = zoneWithHour(1, 11);
    const phones = ['+8613800000101', '+8613800000102', '+8613800000103', '+8613800000104', '+8613800000105'];
    for (const phone of phones) await contact(phone, { name: `客户${phone.slice(-3)}`, tags: ['spring'], timezone: awake });
    const optedOut = await contact('+8613800000106', { name: '退订客户', tags: ['spring'], timezone: awake });
    await recordConsent(hub.runtime.database.db, { contactId: optedOut, channelId: channel.id, status: 'opted_out', source: 'sms:STOP' });
    await contact('+8613800000107', { name: '夜里客户', tags: ['spring'], timezone: asleep });
    // Reached by an earlier campaign this week: the cap of one leaves them out.
    await contact('+8613800000108', { name: '已触达客户', tags: ['spring', 'earlier'], timezone: awake });
    const settings = { quietHours: { start: '00:00', end: '12:00' }, frequencyCap: { max: 1, days: 7 } };
    const earlier = await runCampaign({
      name: 'Earlier',
      audienceId: await audience('Earlier', { field: 'tags', op: 'has', value: 'earlier' }),
      templateId: await template('{{name}}，上周的活动'),
      settings,
    });
    await waitFor(async () => (await results(earlier)).totals.sent === 1 || undefined, 15_000, 'the earlier campaign');

    const id = await runCampaign({
      name: 'Spring offer',
      audienceId: await audience('Spring', { field: 'tags', op: 'has', value: 'spring' }),
      templateId: await template('{{name}}您好，春季理财节开始了'),
      settings: { ...settings, ratePerSecond: 4 },
    });
    const done = await waitFor(async () => {
      const r = await results(id);
      return r.totals.sent === 5 && r.totals.skipped === 2 && r.totals.deferred === 1 ? r : undefined;
    }, 20_000, 'the campaign to settle');
    expect(done.totals).toMatchObject({ recipients: 8, sent: 5, skipped: 2, deferred: 1, failed: 0 });
    expect(done.skipped).toEqual(expect.arrayContaining([
      { reason: 'opted_out', n: 1 },
      { reason: 'frequency_cap', n: 1 },
      { reason: 'quiet_hours', n: 1 },
    ]));

    for (const phone of phones) expect(sentTo(phone)).toHaveLength(1);
    expect(sentTo('+8613800000101')[0]!.body).toContain('客户101您好，春季理财节开始了');
    expect(sentTo('+8613800000106')).toHaveLength(0);
    expect(sentTo('+8613800000107')).toHaveLength(0);
    expect(sentTo('+8613800000108')).toHaveLength(1); // the earlier campaign's only

    // Five sends at 4 a second take a second (unthrottled, a few milliseconds); a loaded machine
    // may start the first late, hence the margin.
    const times = callback.received.filter((r) => phones.includes(JSON.parse(r.body).to?.value)).map((r) => JSON.parse(r.body).messageId as string);
    const sentAt = await Promise.all(times.map(async (messageId) => (await hub.api('GET', `/api/v1/messages/${messageId}`)).body.sentAt as string));
    const spread = Math.max(...sentAt.map(Date.parse)) - Math.min(...sentAt.map(Date.parse));
    expect(spread).toBeGreaterThanOrEqual(600);

    const recipients = await asMarketer('GET', `/api/v1/campaigns/${id}/recipients?outcome=deferred`);
    expect(recipients.body.items).toEqual([expect.objectContaining({ contactName: '夜里客户', reason: 'quiet_hours' })]);
    // Deferred to 12:00 on the contact's clock.
    const due = new Date(recipients.body.items[0].dueAt);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: asleep, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(due)).toBe('12:00');
    expect(recipients.body.items[0]).not.toHaveProperty('text');
  });

  it('a worker restart mid-run, and every job repeated, still message each contact once', async () => {
    const phones = Array.from({ length: 8 }, (_, i) => `+86139000002${String(i).padStart(2, '0')}`);
    for (const phone of phones) await contact(phone, { name: `重启${phone.slice(-2)}`, tags: ['restart'], timezone: 'UTC' });
    const id = await runCampaign({
      name: 'Restart',
      audienceId: await audience('Restart', { field: 'tags', op: 'has', value: 'restart' }),
      templateId: await template('{{name}}，您的账单已出'),
      category: 'transactional',
      settings: { quietHours: null, frequencyCap: null, ratePerSecond: 3 },
    });
    await waitFor(async () => phones.some((p) => sentTo(p).length) || undefined, 15_000, 'first sends');
    await workers!.close(5_000);
    workers = undefined;
    const before = phones.filter((p) => sentTo(p).length).length;
    expect(before).toBeLessThan(8);
    await new Promise((r) => setTimeout(r, 1_000));
    workers = await startWorkers(hub.runtime);
    await waitFor(async () => (await results(id)).totals.sent === 8 || undefined, 20_000, 'the rest after the restart');

    // Every recipient's job again, as a duplicated queue would hold them: nothing more goes out.
    const all = (await asMarketer('GET', `/api/v1/campaigns/${id}/recipients?limit=200`)).body.items as Array<{ id: string }>;
    await enqueueRecipients(hub.runtime.queues, all.map((r) => ({ id: r.id, dueAt: new Date(Date.now() + 10) })));
    await new Promise((r) => setTimeout(r, 1_500));
    for (const phone of phones) expect(sentTo(phone)).toHaveLength(1);
    await waitFor(async () => (await asMarketer('GET', `/api/v1/campaigns/${id}`)).body.status === 'completed' || undefined, 10_000, 'completed');
  });

  it('pause holds the rest, resume sends them, cancel skips what is left', async () => {
    const phones = Array.from({ length: 6 }, (_, i) => `+86139000003${String(i).padStart(2, '0')}`);
    for (const phone of phones) await contact(phone, { name: `暂停${phone.slice(-2)}`, tags: ['pause'], timezone: 'UTC' });
    const input = {
      audienceId: await audience('Pause', { field: 'tags', op: 'has', value: 'pause' }),
      templateId: await template('{{name}}，服务通知'),
      category: 'transactional',
      settings: { quietHours: null, frequencyCap: null, ratePerSecond: 2 },
    };
    const id = await runCampaign({ name: 'Pause', ...input });
    await waitFor(async () => phones.some((p) => sentTo(p).length) || undefined, 15_000, 'first send');
    expect((await asMarketer('POST', `/api/v1/campaigns/${id}/pause`)).body.status).toBe('paused');
    await new Promise((r) => setTimeout(r, 600));
    const held = phones.filter((p) => sentTo(p).length).length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(phones.filter((p) => sentTo(p).length).length).toBe(held);
    expect(held).toBeLessThan(6);
    expect((await asMarketer('POST', `/api/v1/campaigns/${id}/resume`)).body.status).toBe('running');
    await waitFor(async () => (await results(id)).totals.sent === 6 || undefined, 15_000, 'all after resume');
    await waitFor(async () => (await asMarketer('GET', `/api/v1/campaigns/${id}`)).body.status === 'completed' || undefined, 10_000, 'completed');
    expect((await asMarketer('POST', `/api/v1/campaigns/${id}/pause`)).status).toBe(409);

    // A second campaign to the same people, cancelled while its first sends are spaced out.
    const second = await runCampaign({ name: 'Cancelled', ...input, settings: { ...input.settings, ratePerSecond: 0.5 } });
    await waitFor(async () => (await results(second)).totals.sent >= 1 || undefined, 15_000, 'first send');
    expect((await asMarketer('POST', `/api/v1/campaigns/${second}/cancel`)).body.status).toBe('cancelled');
    const cancelled = await results(second);
    expect(cancelled.skipped).toEqual([expect.objectContaining({ reason: 'cancelled' })]);
    expect(cancelled.totals.sent + cancelled.totals.queued).toBeLessThan(6);
  });

  it('a triggered campaign sends the event\'s message once per idempotency key, with its variables', async () => {
    await contact('+8613900000401', { name: '吴经理' }, [{ kind: 'external_id', value: 'CIF-000401' }]);
    const id = await runCampaign({
      name: 'Unusual payment',
      kind: 'triggered',
      templateId: await template('{{name}}，您尾号{{card_last4}}的卡刚支付{{amount}}，是您本人操作吗？回复Y或N'),
      category: 'transactional',
      settings: { quietHours: null, frequencyCap: null },
    });
    const event = { contact: { externalId: 'CIF-000401' }, variables: { card_last4: '1234', amount: '¥5,000' }, idempotencyKey: 'txn-98765' };
    const first = await asMarketer('POST', `/api/v1/campaigns/${id}/trigger`, event);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect((await asMarketer('POST', `/api/v1/campaigns/${id}/trigger`, event)).body).toMatchObject({ created: false, recipientId: first.body.recipientId });
    await waitFor(async () => sentTo('+8613900000401').length === 1 || undefined, 15_000, 'the confirmation');
    expect(JSON.parse(sentTo('+8613900000401')[0]!.body).text).toBe('吴经理，您尾号1234的卡刚支付¥5,000，是您本人操作吗？回复Y或N');
    expect((await asMarketer('POST', `/api/v1/campaigns/${id}/trigger`, { contact: { kind: 'phone', value: '+8613999999999' } })).status).toBe(404);
    await new Promise((r) => setTimeout(r, 500));
    expect(sentTo('+8613900000401')).toHaveLength(1);
  });

  it('marketers run campaigns but read no conversations; agents cannot reach campaigns', async () => {
    expect((await asMarketer('GET', '/api/v1/campaigns')).status).toBe(200);
    expect((await asMarketer('GET', '/api/v1/conversations')).status).toBe(403);
    await createUser(hub.runtime.database.db, null, { email: 'agent.wu@bank.test', role: 'agent' });
    const agentToken = (await createApiToken(hub.runtime.database.db, null, 'agent.wu@bank.test', 'tests')).token;
    const response = await fetch(`${hub.baseUrl}/api/v1/campaigns`, { headers: { authorization: `Bearer ${agentToken}` } });
    expect(response.status).toBe(403);
    const openapi = await (await fetch(`${hub.baseUrl}/api/openapi.json`)).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/campaigns', '/api/v1/campaigns/{id}/trigger', '/api/v1/audiences/preview']));
  });
});
