import { extractFeatures, type ArticleMatch, type KbIndex, type MatchableArticle } from './kb-matcher.js';
import { normalizeText } from './text-normalizer.js';

/**
 * The staged matcher: lexical recall over every question of every article (standard and similar
 * questions, one document each, BM25 over an inverted index), then a linear ranker over a few
 * features of each (question, article) pair, trained from the articles' own questions. The
 * ranker's output is a logistic probability of being the right article, so the confidence it
 * reports is calibrated on held-out questions rather than a raw similarity.
 */

/** The ranker's learned weights; stored in `kb_models` so every process ranks the same way. */
export interface RankerModel {
  version: 1;
  weights: number[];
  /** How many leave-one-out questions the weights were fitted on (0: the shipped defaults). */
  trainedOn: number;
}

export const featureNames = ['bias', 'cosine', 'bm25Relative', 'queryCoverage', 'questionCoverage', 'lcsRatio', 'margin', 'topCosine'] as const;

// Fitted by `npm run bench:bot -- --fit` on the development half of the AFQMC set (bench/bot),
// never on its test half: what a knowledge base with too few similar questions to train on gets.
export const defaultRankerModel: RankerModel = { version: 1, weights: [-4.583, 1.662, 1.757, -0.165, -1.727, 2.063, 3.533, 0.456], trainedOn: 0 };

// Recall keeps this many question hits; more costs time without finding more right articles.
const recallQuestions = 40;
const recallArticles = 12;
const k1 = 1.2;
const b = 0.75;

interface QuestionDoc {
  articleIndex: number;
  text: string;
  features: Map<string, number>;
  length: number;
  grams: Map<string, number>;
  gramNorm: number;
}

/** Character unigrams and bigrams of the normalized text, without spaces and punctuation. */
function charGrams(text: string): Map<string, number> {
  const chars = [...normalizeText(text).replace(/[^\p{L}\p{N}]+/gu, '')];
  const grams = new Map<string, number>();
  for (let i = 0; i < chars.length; i++) {
    grams.set(chars[i]!, (grams.get(chars[i]!) ?? 0) + 1);
    if (i + 1 < chars.length) {
      const gram = chars[i]! + chars[i + 1]!;
      grams.set(gram, (grams.get(gram) ?? 0) + 1);
    }
  }
  return grams;
}

function lcsRatio(x: string, y: string): number {
  if (!x.length || !y.length) return 0;
  let previous = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const row = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) row[j] = x[i - 1] === y[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!);
    previous = row;
  }
  return (2 * previous[y.length]!) / (x.length + y.length);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const dot = (w: number[], f: number[]) => f.reduce((sum, value, i) => sum + value * (w[i] ?? 0), 0);
const compact = (text: string) => normalizeText(text).replace(/[^\p{L}\p{N}]+/gu, '');

export interface RankedCandidate {
  articleId: string;
  features: number[];
  /** The question of the article closest to the customer's text. */
  question: string;
}

export interface StagedIndex extends KbIndex {
  /** Recall and features, before the ranker: what training and the benchmark look at. */
  candidates(text: string, exclude?: { articleIndex: number; question: string }): RankedCandidate[];
  articleIds: string[];
}

/** Builds the recall index over every question of the articles and ranks with `model`. */
export function buildStagedIndex(articles: MatchableArticle[], model: RankerModel = defaultRankerModel): StagedIndex {
  const docs: QuestionDoc[] = [];
  articles.forEach((article, articleIndex) => {
    const seen = new Set<string>();
    for (const text of [article.title, ...article.questions]) {
      const key = compact(text);
      if (!key || seen.has(key)) continue;
      seen.add(key);
      const features = extractFeatures(text);
      let length = 0;
      for (const tf of features.values()) length += tf;
      docs.push({ articleIndex, text: key, features, length, grams: charGrams(text), gramNorm: 0 });
    }
  });
  const postings = new Map<string, Array<[number, number]>>();
  const gramDf = new Map<string, number>();
  docs.forEach((doc, i) => {
    for (const [key, tf] of doc.features) {
      let list = postings.get(key);
      if (!list) postings.set(key, (list = []));
      list.push([i, tf]);
    }
    for (const gram of doc.grams.keys()) gramDf.set(gram, (gramDf.get(gram) ?? 0) + 1);
  });
  const total = Math.max(1, docs.length);
  const averageLength = docs.reduce((sum, doc) => sum + doc.length, 0) / total;
  const idf = (n: number) => Math.log(1 + (total - n + 0.5) / (n + 0.5));
  const gramIdf = (gram: string) => idf(gramDf.get(gram) ?? 0);
  for (const doc of docs) {
    let norm = 0;
    for (const [gram, tf] of doc.grams) norm += (tf * gramIdf(gram)) ** 2;
    doc.gramNorm = Math.sqrt(norm);
  }

  function candidates(text: string, exclude?: { articleIndex: number; question: string }): RankedCandidate[] {
    const query = [...extractFeatures(text)].map(([key, weight]) => ({ key, weight: weight * idf(postings.get(key)?.length ?? 0) }));
    const queryMass = query.reduce((sum, q) => sum + q.weight, 0);
    if (!queryMass) return [];
    const queryKeys = new Set(query.map((q) => q.key));
    const excluded = exclude ? compact(exclude.question) : undefined;
    const relevance = new Map<number, { bm25: number; covered: number }>();
    for (const { key, weight } of query) {
      for (const [docIndex, tf] of postings.get(key) ?? []) {
        const doc = docs[docIndex]!;
        if (excluded !== undefined && doc.articleIndex === exclude!.articleIndex && doc.text === excluded) continue;
        const entry = relevance.get(docIndex) ?? { bm25: 0, covered: 0 };
        entry.bm25 += (weight * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * doc.length) / averageLength));
        entry.covered += weight;
        relevance.set(docIndex, entry);
      }
    }
    const hits = [...relevance].sort((x, y) => y[1].bm25 - x[1].bm25).slice(0, recallQuestions);
    if (!hits.length) return [];
    const topBm25 = hits[0]![1].bm25;
    const queryGrams = charGrams(text);
    let queryNorm = 0;
    for (const [gram, tf] of queryGrams) queryNorm += (tf * gramIdf(gram)) ** 2;
    queryNorm = Math.sqrt(queryNorm) || 1;
    const queryText = compact(text);

    // Per article, the features of its closest question among the hits.
    const byArticle = new Map<number, { features: number[]; question: string; cosine: number }>();
    for (const [docIndex, { bm25, covered }] of hits) {
      const doc = docs[docIndex]!;
      let shared = 0;
      for (const [gram, tf] of queryGrams) {
        const other = doc.grams.get(gram);
        if (other) shared += tf * other * gramIdf(gram) ** 2;
      }
      const cosine = shared / (queryNorm * (doc.gramNorm || 1));
      let docMass = 0;
      let docCovered = 0;
      for (const [key, tf] of doc.features) {
        const weight = tf * idf(postings.get(key)?.length ?? 0);
        docMass += weight;
        if (queryKeys.has(key)) docCovered += weight;
      }
      const features = [1, cosine, bm25 / topBm25, covered / queryMass, docMass ? docCovered / docMass : 0, lcsRatio(queryText, doc.text), 0, 0];
      const previous = byArticle.get(doc.articleIndex);
      if (!previous || cosine + features[5]! > previous.cosine + previous.features[5]!) {
        byArticle.set(doc.articleIndex, { features, question: doc.text, cosine });
      }
    }
    const ranked = [...byArticle].sort((x, y) => y[1].cosine - x[1].cosine).slice(0, recallArticles);
    // The best/second margin: how much closer this article is than the closest other one.
    ranked.forEach(([, entry], i) => {
      const other = i === 0 ? (ranked[1]?.[1].cosine ?? 0) : ranked[0]![1].cosine;
      entry.features[6] = entry.cosine - other;
      entry.features[7] = i === 0 ? 1 : 0;
    });
    return ranked.map(([articleIndex, entry]) => ({ articleId: articles[articleIndex]!.id, features: entry.features, question: entry.question }));
  }

  return {
    articleIds: articles.map((a) => a.id),
    candidates,
    match(text, limit = 3): ArticleMatch[] {
      return candidates(text)
        .map((c) => {
          const z = dot(model.weights, c.features);
          return { articleId: c.articleId, relevance: round(z), score: round(sigmoid(z)) };
        })
        .sort((x, y) => y.relevance - x.relevance)
        .slice(0, limit);
    },
  };
}

/**
 * Fits the ranker on the knowledge base itself: every question of an article with more than one
 * is asked in turn, against the index without that question, and the ranker learns to put its
 * article first (logistic regression, L2). Too few such questions keeps the shipped defaults.
 */
export function trainRanker(articles: MatchableArticle[], options: { minQuestions?: number; maxQuestions?: number } = {}): RankerModel {
  const index = buildStagedIndex(articles);
  const rows: Array<{ features: number[]; label: number }> = [];
  let asked = 0;
  const budget = options.maxQuestions ?? 5000;
  for (let articleIndex = 0; articleIndex < articles.length && asked < budget; articleIndex++) {
    const article = articles[articleIndex]!;
    const questions = [...new Set([article.title, ...article.questions].map(compact))].filter(Boolean);
    if (questions.length < 2) continue;
    for (const question of questions) {
      if (asked >= budget) break;
      asked++;
      for (const candidate of index.candidates(question, { articleIndex, question })) {
        rows.push({ features: candidate.features, label: candidate.articleId === article.id ? 1 : 0 });
      }
    }
  }
  if (asked < (options.minQuestions ?? 30) || !rows.some((r) => r.label) || !rows.some((r) => !r.label)) return defaultRankerModel;
  return { version: 1, weights: fitLogistic(rows, defaultRankerModel.weights), trainedOn: asked };
}

/** Logistic regression by full-batch gradient descent, started from (and pulled towards) the defaults. */
export function fitLogistic(rows: Array<{ features: number[]; label: number }>, start: number[], epochs = 400, rate = 0.5, l2 = 0.01): number[] {
  const w = [...start];
  // Unweighted on purpose: the output stays an estimate of the chance of being right.
  const weightOf = (_label: number) => 1;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gradient = new Array<number>(w.length).fill(0);
    for (const row of rows) {
      const error = (sigmoid(dot(w, row.features)) - row.label) * weightOf(row.label);
      row.features.forEach((value, i) => (gradient[i]! += error * value));
    }
    for (let i = 0; i < w.length; i++) w[i]! -= rate * (gradient[i]! / rows.length + l2 * (w[i]! - start[i]!));
  }
  return w.map((value) => Math.round(value * 1000) / 1000);
}

const round = (value: number) => Math.round(value * 1000) / 1000;
