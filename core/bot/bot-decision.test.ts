import { describe, expect, it } from 'vitest';
import { composeAnswer, decideBotAction, type BotSituation } from './bot-decision.js';
import { defaultBotSettings } from './bot-settings.js';

const enabled = { ...defaultBotSettings, enabled: true };

function situation(text: string | null, overrides: Partial<BotSituation> = {}): BotSituation {
  return {
    settings: enabled,
    withPerson: false,
    failures: 0,
    text,
    match: () => ({ articleId: 'transfer-limit', score: 0.62, relevance: 7.1 }),
    ...overrides,
  };
}

describe('decideBotAction', () => {
  it('answers a confident match', () => {
    expect(decideBotAction(situation('转账限额多少'))).toEqual({ action: 'answer', articleId: 'transfer-limit', score: 0.62 });
  });

  it('hands over at once when the channel has no bot, without a message to the customer', () => {
    expect(decideBotAction(situation('你好', { settings: defaultBotSettings }))).toEqual({
      action: 'handover',
      reason: 'no_bot',
      priority: 1,
      notify: false,
    });
  });

  it('stays silent once a person has the conversation', () => {
    expect(decideBotAction(situation('转人工', { withPerson: true }))).toEqual({ action: 'silent' });
  });

  it.each(['转人工', '我要人工客服', '轉人工', 'Can I talk to an AGENT please', 'human'])('treats "%s" as a request for a person', (text) => {
    expect(decideBotAction(situation(text))).toMatchObject({ action: 'handover', reason: 'customer_request', priority: 1 });
  });

  it('does not mistake words that merely contain a Latin keyword for a request', () => {
    expect(decideBotAction(situation('what do travel agents charge'))).toMatchObject({ action: 'answer' });
  });

  it('puts urgent rules before the knowledge base and takes the highest priority triggered', () => {
    const settings = { ...enabled, urgentRules: [{ keywords: ['挂失'], priority: 2 }, { keywords: ['盗刷'], priority: 3 }] };
    expect(decideBotAction(situation('卡被盜刷了要掛失', { settings }))).toEqual({
      action: 'handover',
      reason: 'urgent_keyword',
      priority: 3,
      notify: true,
    });
  });

  it('counts a weak match as a failure and hands over when the limit is reached', () => {
    const weak = { match: () => ({ articleId: 'fx-rates', score: 0.1, relevance: 1.2 }) };
    expect(decideBotAction(situation('天气', weak))).toEqual({ action: 'fallback', failures: 1 });
    expect(decideBotAction(situation('天气', { ...weak, failures: 1 }))).toEqual({
      action: 'handover',
      reason: 'bot_failed',
      priority: 1,
      notify: true,
      failures: 2,
    });
  });

  it('counts content it cannot read (an image) as a failure without matching', () => {
    let matched = false;
    const decision = decideBotAction(situation(null, { match: () => ((matched = true), undefined) }));
    expect(decision).toEqual({ action: 'fallback', failures: 1 });
    expect(matched).toBe(false);
  });
});

describe('composeAnswer', () => {
  const article = { answer: 'full answer', channelAnswers: { sms: 'short answer' } };
  it("uses the channel type's variant when there is one and always appends the offer", () => {
    expect(composeAnswer(article, 'sms', enabled)).toBe(`short answer\n\n${enabled.offerText}`);
    expect(composeAnswer(article, 'api', enabled)).toBe(`full answer\n\n${enabled.offerText}`);
  });
});
