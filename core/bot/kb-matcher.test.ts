import { describe, expect, it } from 'vitest';
import { defaultBotSettings } from './bot-settings.js';
import { buildKbIndex, extractFeatures } from './kb-matcher.js';

const index = buildKbIndex([
  { id: 'loss', title: '银行卡挂失', questions: ['银行卡丢了怎么办', 'I lost my bank card'], tags: ['card'] },
  { id: 'limit', title: '转账限额', questions: ['每天最多能转多少钱', 'daily transfer limit'], tags: ['transfer'] },
  { id: 'bill', title: '信用卡账单', questions: ['信用卡账单怎么查', 'credit card statement'], tags: ['credit card'] },
]);

describe('kb matcher', () => {
  it('ranks the article a paraphrase asks for first, with a score between 0 and 1', () => {
    const [top, second] = index.match('我的银行卡不见了要挂失', 2);
    expect(top).toMatchObject({ articleId: 'loss' });
    expect(top!.score).toBeGreaterThan(second?.score ?? 0);
    expect(top!.score).toBeLessThanOrEqual(1);
  });

  it('folds Traditional script, full-width letters and 帐/账 before matching', () => {
    expect(index.match('信用卡帳單怎麼查')[0]).toMatchObject({ articleId: 'bill' });
    expect(index.match('ＤＡＩＬＹ ＴＲＡＮＳＦＥＲ ＬＩＭＩＴ')[0]).toMatchObject({ articleId: 'limit' });
    expect(extractFeatures('轉帳')).toEqual(extractFeatures('转账'));
  });

  it('tolerates English typos through character trigrams', () => {
    expect(index.match('dayly tranfer limt')[0]).toMatchObject({ articleId: 'limit' });
  });

  it('scores unrelated text far below the default confidence threshold, and blank text not at all', () => {
    for (const text of ['明天天气怎么样', 'tell me a joke', '请问']) {
      expect(Math.max(0, ...index.match(text).map((m) => m.score))).toBeLessThan(defaultBotSettings.confidenceThreshold / 2);
    }
    expect(index.match('   ')).toEqual([]);
  });
});
