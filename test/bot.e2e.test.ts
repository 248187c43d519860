import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBotTurn } from '../core/bot/bot-responder.js';
import { createApiToken, createUser } from '../core/users/users.js';
import { eventsChannel } from '../workflows/events.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, testRedisUrl, waitFor, type TestHub } from './support/test-hub.js';

interface BenchArticle {
  id: string;
  title: string;
  questions: string[];
  answer: string;
  tags: string[];
}
const benchArticles = JSON.parse(readFileSync(new URL('../bench/bot/kb-articles.json', import.meta.url), 'utf8')) as BenchArticle[];
const answerOf = (id: string) => benchArticles.find((a) => a.id === id)!.answer;

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
let botChannel: { id: string; secret: string };
let plainChannel: { id: string; secret: string };
let subscriber: Redis;
const published: any[] = [];
let articleIds: Record<string, string>;

beforeAll(async () => {
  hub = await startTestHub();
  callback = await startCallbackServer([200]);
  botChannel = await hub.createApiChannel(callback.url);
  plainChannel = await hub.createApiChannel(callback.url);
  subscriber = new Redis(testRedisUrl);
  subscriber.on('message', (_channel, message) => published.push(JSON.parse(message)));
  await subscriber.subscribe(eventsChannel(hub.config.REDIS_PREFIX));

  articleIds = {};
  for (const article of benchArticles) {
    const { status, body } = await hub.api('POST', '/api/v1/kb/articles', {
      title: article.title,
      questions: article.questions,
      answer: article.answer,
      tags: article.tags,
    });
    expect(status).toBe(201);
    articleIds[article.id] = body.id;
  }
  const enabled = await hub.api('PATCH', `/api/v1/channels/${botChannel.id}/bot`, { enabled: true, maxFailures: 2 });
  expect(enabled.status).toBe(200);
});
afterAll(async () => {
  subscriber?.disconnect();
  await callback?.close();
  await hub?.close();
});

let sequence = 0;
/** A customer writes on a channel; resolves with the conversation once the message is stored. */
async function customerSays(channel: { id: string; secret: string }, phone: string, text: string) {
  const messageId = `bot-test-${++sequence}`;
  const response = await hub.postSigned(channel.id, channel.secret, { messageId, from: { kind: 'phone', value: phone }, text });
  expect(response.status).toBe(200);
  return waitFor(async () => {
    const [row] = await hub.runtime.database.query<{ conversation_id: string }>(
      sql`select m.conversation_id from messages m join inbound_events e on e.id = m.inbound_event_id where e.dedupe_key = ${messageId}`,
    );
    return row?.conversation_id;
  }, 10_000, `message ${messageId} stored`);
}

const deliveredTo = (conversationId: string) =>
  callback.received.map((r) => JSON.parse(r.body)).filter((body) => body.conversationId === conversationId);

const handoversOf = (conversationId: string) =>
  published.filter((e) => e.type === 'conversation.handover' && e.conversationId === conversationId);

async function messagesOf(conversationId: string) {
  const { body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/messages`);
  return body.items as Array<{ text: string; direction: string; authorKind: string; payload: any }>;
}

/** Lets any stray job finish before asserting that something did not happen. */
const settle = () => new Promise((r) => setTimeout(r, 1_500));

describe('knowledge-base bot on a channel with the bot enabled', () => {
  it("answers a customer's question with the matching article and offers a person", async () => {
    const conversationId = await customerSays(botChannel, '+8613811110001', '手机银行一天最多能转多少钱？');
    const [reply] = await waitFor(async () => deliveredTo(conversationId).length > 0 && deliveredTo(conversationId), 10_000, 'bot answer');
    expect(reply.text).toContain(answerOf('transfer-limit'));
    expect(reply.text).toContain('转人工');
    const stored = await messagesOf(conversationId);
    expect(stored.map((m) => [m.direction, m.authorKind])).toEqual([
      ['inbound', 'contact'],
      ['outbound', 'bot'],
    ]);
    expect(stored[1]!.payload.bot).toMatchObject({ kind: 'answer', articleId: articleIds['transfer-limit'] });
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}/bot`)).body).toMatchObject({ state: 'active', failures: 0 });
  });

  it('understands Traditional Chinese and English', async () => {
    const traditional = await customerSays(botChannel, '+8613811110002', '我的信用卡帳單怎麼查？');
    await waitFor(async () => deliveredTo(traditional).some((b) => b.text.includes(answerOf('cc-bill'))), 10_000, 'answer in Simplified KB');
    const english = await customerSays(botChannel, '+8613811110003', 'what is your SWIFT code');
    await waitFor(async () => deliveredTo(english).some((b) => b.text.includes(answerOf('international-remittance'))), 10_000, 'English answer');
  });

  it('"转人工" hands over once at normal priority, and the bot then stays silent', async () => {
    const conversationId = await customerSays(botChannel, '+8613811110004', '营业时间是几点');
    await waitFor(async () => deliveredTo(conversationId).length === 1, 10_000, 'first answer');
    await customerSays(botChannel, '+8613811110004', '转人工');
    const [handover] = await waitFor(async () => handoversOf(conversationId).length > 0 && handoversOf(conversationId), 10_000, 'handover');
    expect(handover).toEqual({ type: 'conversation.handover', conversationId, priority: 1, reason: 'customer_request' });
    await waitFor(async () => deliveredTo(conversationId).length === 2, 10_000, 'handover notice');
    expect(deliveredTo(conversationId)[1].text).toContain('人工客服');

    await customerSays(botChannel, '+8613811110004', '信用卡账单怎么查');
    await settle();
    expect(deliveredTo(conversationId)).toHaveLength(2);
    expect(handoversOf(conversationId)).toHaveLength(1);
    const bot = await hub.api('GET', `/api/v1/conversations/${conversationId}/bot`);
    expect(bot.body).toMatchObject({ state: 'handed_over', handoverReason: 'customer_request', handoverPriority: 1 });
    // The agent who takes over sees the whole bot exchange in the conversation.
    expect((await messagesOf(conversationId)).map((m) => m.authorKind)).toEqual(['contact', 'bot', 'contact', 'bot', 'contact']);
  });

  it('urgent keywords go straight to a person with high priority, even in Traditional script', async () => {
    const conversationId = await customerSays(botChannel, '+8613811110005', '我的卡被盜刷了兩萬塊');
    const [handover] = await waitFor(async () => handoversOf(conversationId).length > 0 && handoversOf(conversationId), 10_000, 'handover');
    expect(handover).toMatchObject({ priority: 2, reason: 'urgent_keyword' });
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}`)).body.priority).toBe(2);
    await waitFor(async () => deliveredTo(conversationId).length === 1, 10_000, 'handover notice');
    expect(deliveredTo(conversationId)[0].text).not.toContain(answerOf('fraud-report'));
  });

  it('hands over after the configured number of questions it cannot answer', async () => {
    const conversationId = await customerSays(botChannel, '+8613811110006', '明天天气怎么样');
    await waitFor(async () => deliveredTo(conversationId).length === 1, 10_000, 'fallback');
    expect(deliveredTo(conversationId)[0].text).toContain('没有找到相关答案');
    expect(handoversOf(conversationId)).toHaveLength(0);
    await customerSays(botChannel, '+8613811110006', '推荐一只能涨的股票');
    const [handover] = await waitFor(async () => handoversOf(conversationId).length > 0 && handoversOf(conversationId), 10_000, 'handover');
    expect(handover).toMatchObject({ priority: 1, reason: 'bot_failed' });
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}/bot`)).body).toMatchObject({ state: 'handed_over', failures: 2 });
  });

  it('sends the answer variant written for the channel type', async () => {
    const created = await hub.api('POST', '/api/v1/kb/articles', {
      title: '贵金属积存金',
      questions: ['积存金怎么买', 'how to buy gold savings'],
      answer: '积存金可在手机银行“贵金属”频道购买，起存 1 克。',
      channelAnswers: { api: '积存金：手机银行-贵金属，1 克起。' },
      tags: ['gold'],
    });
    expect(created.status).toBe(201);
    const conversationId = await customerSays(botChannel, '+8613811110007', '积存金怎么买？');
    const [reply] = await waitFor(async () => deliveredTo(conversationId).length > 0 && deliveredTo(conversationId), 10_000, 'answer');
    expect(reply.text).toContain('积存金：手机银行-贵金属，1 克起。');
    expect(reply.text).not.toContain('起存 1 克');
  });
});

describe('retried bot turns', () => {
  it('a turn run again for the same customer message sends nothing new, counts no second failure and announces no second handover', async () => {
    const conversationId = await customerSays(botChannel, '+8613811110009', '附近有什么好吃的');
    await waitFor(async () => deliveredTo(conversationId).length === 1, 10_000, 'fallback');
    await customerSays(botChannel, '+8613811110009', '人工');
    await waitFor(async () => handoversOf(conversationId).length === 1, 10_000, 'handover');
    await waitFor(async () => (await hub.api('GET', `/api/v1/conversations/${conversationId}/bot`)).body.state === 'handed_over', 10_000, 'state');
    const before = await messagesOf(conversationId);

    const deps = { db: hub.runtime.database.db, adapters: hub.runtime.adapters, kb: hub.runtime.kb };
    const inbound = await hub.runtime.database.query<{ id: string }>(
      sql`select id from messages where conversation_id = ${conversationId} and direction = 'inbound' order by seq`,
    );
    for (const { id } of inbound) {
      const events = await runBotTurn(deps, { conversationId, channelId: botChannel.id, messageId: id });
      expect(events.map((e) => e.type)).toEqual(['message.created']);
    }
    expect(await messagesOf(conversationId)).toEqual(before);
    expect((await hub.api('GET', `/api/v1/conversations/${conversationId}/bot`)).body).toMatchObject({ failures: 1, handoverReason: 'customer_request' });
    await settle();
    expect(handoversOf(conversationId)).toHaveLength(1);
  });
});

describe('channels without a bot', () => {
  it('hand every new conversation over at once, exactly once, and the bot never speaks', async () => {
    const conversationId = await customerSays(plainChannel, '+8613822220001', '转账限额是多少');
    const [handover] = await waitFor(async () => handoversOf(conversationId).length > 0 && handoversOf(conversationId), 10_000, 'handover');
    expect(handover).toEqual({ type: 'conversation.handover', conversationId, priority: 1, reason: 'no_bot' });
    await waitFor(async () => {
      const [session] = await hub.runtime.database.query<{ announced: boolean }>(
        sql`select announced_at is not null as announced from bot_sessions where conversation_id = ${conversationId}`,
      );
      return session?.announced;
    }, 10_000, 'the handover announced');
    await customerSays(plainChannel, '+8613822220001', '在吗');
    await settle();
    // A message after the announced handover is marked so; the bot is not woken for it.
    const later = published.filter((e) => e.type === 'message.created' && e.conversationId === conversationId && e.direction === 'inbound');
    expect(later.map((e) => e.afterHandover ?? false)).toEqual([false, true]);
    expect(handoversOf(conversationId)).toHaveLength(1);
    expect(deliveredTo(conversationId)).toHaveLength(0);
    expect((await messagesOf(conversationId)).every((m) => m.authorKind === 'contact')).toBe(true);
  });
});

describe('agent assist', () => {
  it("suggests the articles closest to the customer's last message, with scores", async () => {
    const conversationId = await customerSays(plainChannel, '+8613822220002', 'ATM把我的卡吞了怎么办');
    const { status, body } = await hub.api('GET', `/api/v1/conversations/${conversationId}/suggestions?limit=2`);
    expect(status).toBe(200);
    expect(body.text).toBe('ATM把我的卡吞了怎么办');
    expect(body.items).toHaveLength(2);
    expect(body.items[0]).toMatchObject({ articleId: articleIds['atm-card-retained'], answer: answerOf('atm-card-retained') });
    expect(body.items[0].score).toBeGreaterThan(body.items[1].score);
  });

  it('answers 404 for an unknown conversation and 400 for a bad limit', async () => {
    expect((await hub.api('GET', '/api/v1/conversations/6b0d2d4e-0000-4000-8000-000000000000/suggestions')).status).toBe(404);
    const conversationId = await customerSays(plainChannel, '+8613822220003', 'hello');
    const bad = await hub.api('GET', `/api/v1/conversations/${conversationId}/suggestions?limit=50`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/limit/);
  });
});

describe('knowledge-base and bot settings administration', () => {
  async function tokenFor(role: 'agent' | 'supervisor', email: string) {
    await createUser(hub.runtime.database.db, null, { email, role });
    return (await createApiToken(hub.runtime.database.db, null, email, 'tests')).token;
  }
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  it('creates, reads, filters, updates and deletes articles, each change audited', async () => {
    const created = await hub.api('POST', '/api/v1/kb/articles', {
      title: '保管箱 / Safe deposit boxes',
      questions: ['保管箱怎么租', 'rent a safe deposit box'],
      answer: '保管箱请到指定网点办理。',
      tags: ['branch', 'safe'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ enabled: true, channelAnswers: {}, tags: ['branch', 'safe'] });
    const id = created.body.id;
    expect((await hub.api('GET', `/api/v1/kb/articles/${id}`)).body.title).toBe('保管箱 / Safe deposit boxes');
    const tagged = await hub.api('GET', '/api/v1/kb/articles?tag=safe');
    expect(tagged.body.items.map((a: any) => a.id)).toEqual([id]);

    const patched = await hub.api('PATCH', `/api/v1/kb/articles/${id}`, { enabled: false });
    expect(patched.body.enabled).toBe(false);
    expect((await hub.api('GET', '/api/v1/kb/articles?enabled=false')).body.items.map((a: any) => a.id)).toContain(id);
    expect((await hub.api('DELETE', `/api/v1/kb/articles/${id}`)).body).toEqual({ deleted: true });
    expect((await hub.api('GET', `/api/v1/kb/articles/${id}`)).status).toBe(404);

    const audit = await hub.runtime.database.query<{ action: string }>(
      sql`select action from audit_log where target_type = 'kb_article' and target_id = ${id} order by created_at`,
    );
    expect(audit.map((a) => a.action)).toEqual(['kb_article.create', 'kb_article.update', 'kb_article.delete']);
  });

  it('a disabled article is no longer used to answer', async () => {
    await hub.api('PATCH', `/api/v1/kb/articles/${articleIds['deposit-rates']}`, { enabled: false });
    try {
      const conversationId = await customerSays(botChannel, '+8613811110008', '三年定期存款利率是多少');
      await waitFor(async () => deliveredTo(conversationId).length === 1, 10_000, 'reply');
      expect(deliveredTo(conversationId)[0].text).not.toContain(answerOf('deposit-rates'));
    } finally {
      await hub.api('PATCH', `/api/v1/kb/articles/${articleIds['deposit-rates']}`, { enabled: true });
    }
  });

  it('rejects bad articles and settings with a 400 that says what is wrong', async () => {
    const noQuestions = await hub.api('POST', '/api/v1/kb/articles', { title: 'x', questions: [], answer: 'y' });
    expect(noQuestions.status).toBe(400);
    expect(noQuestions.body.error).toMatch(/questions/);
    const badChannelType = await hub.api('POST', '/api/v1/kb/articles', { title: 'x', questions: ['q'], answer: 'y', channelAnswers: { fax: 'z' } });
    expect(badChannelType.status).toBe(400);
    expect(badChannelType.body.error).toMatch(/channelAnswers/);
    const badFailures = await hub.api('PATCH', `/api/v1/channels/${plainChannel.id}/bot`, { maxFailures: 0 });
    expect(badFailures.status).toBe(400);
    expect(badFailures.body.error).toMatch(/maxFailures/);
    const unknownSetting = await hub.api('PATCH', `/api/v1/channels/${plainChannel.id}/bot`, { threshold: 0.5 });
    expect(unknownSetting.status).toBe(400);
    expect(unknownSetting.body.error).toMatch(/threshold/);
    expect((await hub.api('GET', '/api/v1/channels/6b0d2d4e-0000-4000-8000-000000000000/bot')).status).toBe(404);
  });

  it('shows defaults for a channel never configured, and audits changes', async () => {
    const defaults = await hub.api('GET', `/api/v1/channels/${plainChannel.id}/bot`);
    expect(defaults.body).toMatchObject({ enabled: false, handoverKeywords: ['转人工', '人工', '人工客服', 'agent', 'human'] });
    const changed = await hub.api('PATCH', `/api/v1/channels/${plainChannel.id}/bot`, { confidenceThreshold: 0.5, handoverKeywords: ['真人'] });
    expect(changed.body).toMatchObject({ enabled: false, confidenceThreshold: 0.5, handoverKeywords: ['真人'], maxFailures: 2 });
    expect((await hub.api('GET', `/api/v1/channels/${plainChannel.id}/bot`)).body).toEqual(changed.body);
    const audit = await hub.runtime.database.query<{ details: any }>(
      sql`select details from audit_log where action = 'bot_settings.update' and target_id = ${plainChannel.id}`,
    );
    expect(audit.at(-1)!.details.fields.sort()).toEqual(['confidenceThreshold', 'handoverKeywords']);
  });

  it('lets agents read articles but not change them, and only admins change bot settings', async () => {
    const agent = await tokenFor('agent', 'agent.kb@bank.test');
    expect((await hub.api('GET', '/api/v1/kb/articles', undefined, as(agent))).status).toBe(200);
    const create = await hub.api('POST', '/api/v1/kb/articles', { title: 'x', questions: ['q'], answer: 'y' }, as(agent));
    expect(create.status).toBe(403);
    expect((await hub.api('PATCH', `/api/v1/channels/${botChannel.id}/bot`, { enabled: false }, as(agent))).status).toBe(403);
    const supervisor = await tokenFor('supervisor', 'supervisor.kb@bank.test');
    expect((await hub.api('PATCH', `/api/v1/channels/${botChannel.id}/bot`, { enabled: false }, as(supervisor))).status).toBe(403);
  });
});
