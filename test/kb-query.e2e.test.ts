import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
const ids: Record<string, string> = {};
const articles = {
  freeze: { title: '花呗被冻结怎么恢复', questions: ['花呗冻结了怎么解冻', '我的花呗被冻结了'], answer: '请在支付宝中申请解除花呗冻结。' },
  limit: { title: '花呗额度怎么提升', questions: ['怎么提高花呗额度'], answer: '保持良好的使用和还款记录，额度会定期评估。' },
  temp: { title: '花呗临时额度怎么申请', questions: ['花呗临时额度在哪里申请'], answer: '在花呗页面的“我的额度”里查看临时额度。' },
  repay: { title: '借呗怎么提前还款', questions: ['借呗可以提前还吗'], answer: '借呗支持随时提前还款，按实际天数计息。', channelAnswers: { sms_twilio: '借呗可随时提前还款。' } },
};

beforeAll(async () => {
  hub = await startTestHub();
  for (const [key, article] of Object.entries(articles)) {
    const { status, body } = await hub.api('POST', '/api/v1/kb/articles', article);
    expect(status).toBe(201);
    ids[key] = body.id;
  }
});
afterAll(async () => {
  await hub?.close();
});

const query = (body: unknown) => hub.api('POST', '/api/v1/kb/query', body);

describe('POST /api/v1/kb/query', () => {
  it('answers a phrasing of a similar question with the article, its confidence and the channel answer', async () => {
    const { status, body } = await query({ text: '借呗可以提前还吗', channelType: 'sms_twilio' });
    expect(status).toBe(200);
    expect(body.decision).toMatchObject({ action: 'answer', articleId: ids.repay });
    expect(body.items[0]).toMatchObject({ articleId: ids.repay, title: articles.repay.title, answer: '借呗可随时提前还款。' });
    expect(body.items[0].confidence).toBeGreaterThan(0.6);
    expect(body.items[0].confidence).toBeLessThan(1);
    // An urgent keyword (冻结) reaches a person even though an article matches.
    const urgent = await query({ text: '花呗冻结了要怎么解冻呢' });
    expect(urgent.body.decision).toEqual({ action: 'handover', reason: 'urgent_keyword' });
    expect(urgent.body.items[0].articleId).toBe(ids.freeze);
  });

  it('offers choices when two articles are close, falls back on an unrelated question, hands over on request', async () => {
    const close = await query({ text: '花呗额度' });
    expect(close.body.decision.action).toBe('clarify');
    expect(close.body.decision.articleIds).toEqual(expect.arrayContaining([ids.limit, ids.temp]));
    expect((await query({ text: '今天天气怎么样' })).body.decision).toEqual({ action: 'fallback' });
    expect((await query({ text: '我要转人工' })).body.decision).toEqual({ action: 'handover', reason: 'customer_request' });
  });

  it('refuses an empty text with a 400', async () => {
    expect((await query({ text: '' })).status).toBe(400);
  });
});
