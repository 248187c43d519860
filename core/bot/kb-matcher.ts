import { normalizeText, segmentChinese, splitScripts } from './text-normalizer.js';

/** What the matcher needs of an article: its id and the ways customers ask for it. */
export interface MatchableArticle {
  id: string;
  title: string;
  questions: string[];
  tags: string[];
}

export interface ArticleMatch {
  articleId: string;
  /** BM25 relevance: orders the candidates of one query, not comparable across queries. */
  relevance: number;
  /**
   * 0..1, comparable to the confidence threshold: the share of the query's weight the article
   * covers, lowered when the runner-up is nearly as relevant (an ambiguous question).
   */
  score: number;
}

// Words that carry no topic in a service question; they would otherwise pull every query
// towards the articles that happen to phrase their variants the same way.
const stopwords = new Set([
  ...'的 了 吗 呢 吧 啊 呀 么 我 你 您 他 她 它 我们 是 在 有 要 想 请 请问 一下 怎么 怎么样 怎样 如何 什么 可以 能 能否 会 还 就 都 也 和 与 及 或 这 那 这个 那个 哪 哪里 为什么 为何 多少 几 个 下 谢谢 你好 您好 麻烦 帮 帮我 给 让 被 把 对 从 到 时 时候 现在 已经 需要 应该 是否 不 没 没有'.split(' '),
  ...'a an the i my me we our you your is are am was were be been do does did can could would should will how what when where why which who to of for in on at by with from and or it this that there please hi hello need want get have has any about'.split(' '),
]);

// Bigrams carry typo tolerance and cover words the dictionary splits differently; word
// features stay the stronger signal. Latin trigrams do the same for misspelt English.
export const defaultFeatureWeights = { word: 1, bigram: 0.6, trigram: 0.35 };
export type FeatureWeights = typeof defaultFeatureWeights;

/** Crude English stemming: enough to match "transfers"/"transfer" and "charged"/"charge". */
function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** Weighted features of a text: Chinese words and character bigrams, English stems and their trigrams. */
export function extractFeatures(text: string, weights: FeatureWeights = defaultFeatureWeights): Map<string, number> {
  const features = new Map<string, number>();
  const add = (key: string, weight: number) => {
    if (weight > 0) features.set(key, (features.get(key) ?? 0) + weight);
  };
  const { chinese, latin } = splitScripts(normalizeText(text));
  for (const run of chinese) {
    for (const word of segmentChinese(run)) if (!stopwords.has(word)) add(`w:${word}`, weights.word);
    for (let i = 0; i + 1 < run.length; i++) add(`b:${run.slice(i, i + 2)}`, weights.bigram);
    if (run.length === 1 && !stopwords.has(run)) add(`b:${run}`, weights.bigram);
  }
  for (const raw of latin) {
    if (stopwords.has(raw)) continue;
    const word = stem(raw);
    add(`w:${word}`, weights.word);
    const padded = `#${word}#`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, weights.trigram);
  }
  return features;
}

/** Matches customer text against the articles it was built from. */
export interface KbIndex {
  match(text: string, limit?: number): ArticleMatch[];
}

// The usual BM25 constants (term-frequency saturation, length normalization).
const k1 = 1.2;
const b = 0.75;
// How much a close runner-up lowers the confidence: at 0.5 a tie halves it.
const ambiguityPenalty = 0.5;

/**
 * BM25 over one document per article (title, every question variant and tags pooled): pooling
 * lets a question that borrows words from two variants still find its article, which matching
 * variant by variant missed (see bench/bot/RESULTS.md).
 */
export function buildKbIndex(articles: MatchableArticle[], weights: FeatureWeights = defaultFeatureWeights): KbIndex {
  const documents = articles.map((article) => {
    const features = new Map<string, number>();
    for (const text of [article.title, ...article.questions, ...article.tags]) {
      for (const [key, tf] of extractFeatures(text, weights)) features.set(key, (features.get(key) ?? 0) + tf);
    }
    let length = 0;
    for (const tf of features.values()) length += tf;
    return { articleId: article.id, features, length };
  });
  const df = new Map<string, number>();
  for (const doc of documents) for (const key of doc.features.keys()) df.set(key, (df.get(key) ?? 0) + 1);
  const total = documents.length;
  const averageLength = documents.reduce((sum, doc) => sum + doc.length, 0) / Math.max(1, total);
  const idf = (key: string) => {
    const n = df.get(key) ?? 0;
    return Math.log(1 + (total - n + 0.5) / (n + 0.5));
  };

  return {
    match(text, limit = 3) {
      const query = [...extractFeatures(text, weights)].map(([key, weight]) => ({ key, weight: weight * idf(key) }));
      const queryMass = query.reduce((sum, q) => sum + q.weight, 0);
      if (!queryMass) return [];
      const scored = documents
        .map((doc) => {
          let relevance = 0;
          let covered = 0;
          for (const { key, weight } of query) {
            const tf = doc.features.get(key);
            if (!tf) continue;
            covered += weight;
            relevance += (weight * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * doc.length) / averageLength));
          }
          return { articleId: doc.articleId, relevance, coverage: covered / queryMass };
        })
        .filter((m) => m.relevance > 0)
        .sort((x, y) => y.relevance - x.relevance);
      return scored.slice(0, limit).map((m, i) => {
        const next = scored[i + 1];
        const ambiguity = next ? ambiguityPenalty * (next.relevance / m.relevance) : 0;
        return { articleId: m.articleId, relevance: round(m.relevance), score: round(m.coverage * (1 - ambiguity)) };
      });
    },
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
