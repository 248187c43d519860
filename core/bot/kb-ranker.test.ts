import { describe, expect, it } from 'vitest';
import { decideMatch } from './kb-decision.js';
import { buildStagedIndex, defaultRankerModel, trainRanker } from './kb-ranker.js';

const articles = [
  { id: 'unlock', title: '花呗被冻结怎么恢复', questions: ['花呗冻结了怎么解冻', '我的花呗被冻结了'], tags: [] },
  { id: 'limit', title: '花呗额度怎么提升', questions: ['怎么提高花呗额度', '花呗临时额度怎么申请'], tags: [] },
  { id: 'repay', title: '借呗怎么提前还款', questions: ['借呗可以提前还吗', '提前还借呗有手续费吗'], tags: [] },
  { id: 'open', title: '借呗怎么开通', questions: ['我要开通借呗', '为什么借呗开通不了'], tags: [] },
];

describe('staged matcher', () => {
  it('finds the article through a similar question and reports a probability', () => {
    const [best] = buildStagedIndex(articles).match('花呗冻结了要怎么解冻呢', 3);
    expect(best?.articleId).toBe('unlock');
    expect(best!.score).toBeGreaterThan(0);
    expect(best!.score).toBeLessThan(1);
  });

  it('trains from the articles own questions, and keeps the defaults when there are too few', () => {
    expect(trainRanker(articles)).toBe(defaultRankerModel);
    const many = Array.from({ length: 20 }, (_, i) => ({
      id: `a${i}`,
      title: `产品${i}号怎么申请`,
      questions: [`产品${i}号如何办理`, `我想办产品${i}号`],
      tags: [],
    }));
    const model = trainRanker(many, { minQuestions: 10 });
    expect(model.trainedOn).toBeGreaterThanOrEqual(10);
    expect(model.weights).toHaveLength(defaultRankerModel.weights.length);
  });

  it('asks which one is meant when two are close, and falls back when nothing is', () => {
    expect(
      decideMatch([
        { articleId: 'a', relevance: -0.4, score: 0.4 },
        { articleId: 'b', relevance: -2, score: 0.12 },
        { articleId: 'c', relevance: -6, score: 0.01 },
      ]),
    ).toEqual({ action: 'clarify', articleIds: ['a', 'b'] });
    expect(decideMatch([{ articleId: 'a', relevance: 0, score: 0.9 }])).toMatchObject({ action: 'answer', articleId: 'a' });
    expect(decideMatch([{ articleId: 'a', relevance: 0, score: 0.05 }])).toEqual({ action: 'fallback' });
  });
});
