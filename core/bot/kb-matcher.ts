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
  /** Cosine similarity with the closest question variant, 0..1; comparable to the confidence threshold. */
  score: number;
  /** The question variant that matched best. */
  question: string;
}

// Words that carry no topic in a service question; they would otherwise pull every query
// towards the articles that happen to phrase their variants the same way.
const stopwords = new Set([
  ...'的 了 吗 呢 吧 啊 呀 么 我 你 您 他 她 它 我们 是 在 有 要 想 请 请问 一下 怎么 怎么样 怎样 如何 什么 可以 能 能否 会 还 就 都 也 和 与 及 或 这 那 这个 那个 哪 哪里 为什么 为何 多少 几 个 下 吗? 谢谢 你好 您好 麻烦 帮 帮我 给 让 被 把 对 从 到 时 时候 现在 已经 需要 应该 是否 不 没 没有'.split(' '),
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

interface IndexedVariant {
  articleId: string;
  question: string;
  vector: Map<string, number>;
  norm: number;
}

/**
 * A TF-IDF index over every question variant of every article. Document frequency counts
 * articles, not variants, so a word all the variants of one article repeat still identifies it.
 */
export interface KbIndex {
  match(text: string, limit?: number): ArticleMatch[];
  readonly size: number;
}

export function buildKbIndex(articles: MatchableArticle[], weights: FeatureWeights = defaultFeatureWeights): KbIndex {
  const variantFeatures = articles.flatMap((article) =>
    [article.title, ...article.questions, ...article.tags]
      .filter((q) => q.trim())
      .map((question) => ({ articleId: article.id, question, features: extractFeatures(question, weights) })),
  );
  const articleFeatures = new Map<string, Set<string>>();
  for (const v of variantFeatures) {
    const seen = articleFeatures.get(v.articleId) ?? new Set<string>();
    for (const key of v.features.keys()) seen.add(key);
    articleFeatures.set(v.articleId, seen);
  }
  const df = new Map<string, number>();
  for (const keys of articleFeatures.values()) for (const key of keys) df.set(key, (df.get(key) ?? 0) + 1);
  const total = Math.max(1, articleFeatures.size);
  const idf = (key: string) => Math.log(1 + (total + 1) / ((df.get(key) ?? 0) + 0.5));

  const vectorize = (features: Map<string, number>) => {
    const vector = new Map<string, number>();
    let sum = 0;
    for (const [key, tf] of features) {
      const value = (1 + Math.log(tf)) * idf(key);
      vector.set(key, value);
      sum += value * value;
    }
    return { vector, norm: Math.sqrt(sum) };
  };
  const variants: IndexedVariant[] = variantFeatures.map((v) => ({ articleId: v.articleId, question: v.question, ...vectorize(v.features) }));

  return {
    size: articles.length,
    match(text, limit = 3) {
      const query = vectorize(extractFeatures(text, weights));
      if (!query.norm) return [];
      const best = new Map<string, ArticleMatch>();
      for (const variant of variants) {
        if (!variant.norm) continue;
        let dot = 0;
        for (const [key, value] of query.vector) {
          const other = variant.vector.get(key);
          if (other) dot += value * other;
        }
        if (!dot) continue;
        const score = dot / (query.norm * variant.norm);
        const current = best.get(variant.articleId);
        if (!current || score > current.score) best.set(variant.articleId, { articleId: variant.articleId, score, question: variant.question });
      }
      return [...best.values()]
        .sort((a, b) => b.score - a.score)
        .slice(0, limit)
        .map((m) => ({ ...m, score: Math.round(m.score * 1000) / 1000 }));
    },
  };
}
