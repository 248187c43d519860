/**
 * Match quality and speed on the held-out AFQMC set (bench/bot/afqmc, built by
 * build-afqmc-set.ts): the BM25 matcher the bot had, and the staged matcher (recall + ranker),
 * with the shipped ranker weights and with weights trained from the knowledge base itself, with
 * and without similar questions loaded.
 *
 *   npm run bench:bot:afqmc                 # figures on the test split
 *   npm run bench:bot:afqmc -- --split dev  # the development split (tune here only)
 *   npm run bench:bot:afqmc -- --fit        # fit the shipped weights on the dev split's questions
 */
import { readFileSync } from 'node:fs';
import { buildKbIndex, type KbIndex, type MatchableArticle } from '../../core/bot/kb-matcher.js';
import { buildStagedIndex, defaultRankerModel, fitLogistic, trainRanker } from '../../core/bot/kb-ranker.js';
import { decideMatch, defaultMatchPolicy } from '../../core/bot/kb-decision.js';

interface Article extends MatchableArticle {
  split: 'dev' | 'test';
}
interface Labelled {
  q: string;
  expect: string | null;
  split: 'dev' | 'test';
  kind: string;
}
const lines = <T>(name: string): T[] =>
  readFileSync(new URL(name, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
const articles = lines<Article>('./afqmc/kb.jsonl');
const splitArg = process.argv.indexOf('--split');
const split = splitArg > 0 ? process.argv[splitArg + 1] : 'test';
const queries = lines<Labelled>('./afqmc/queries.jsonl').filter((q) => q.split === split);
const inScope = queries.filter((q) => q.expect);
const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');

if (process.argv.includes('--fit')) {
  // Supervised on the development split's held-out phrasings: the shipped default weights.
  const dev = lines<Labelled>('./afqmc/queries.jsonl').filter((q) => q.split === 'dev');
  const index = buildStagedIndex(articles);
  const rows = dev.flatMap((q) => index.candidates(q.q).map((c) => ({ features: c.features, label: c.articleId === q.expect ? 1 : 0 })));
  console.log('fitted on dev:', JSON.stringify(fitLogistic(rows, defaultRankerModel.weights, 3000, 0.5, 0.0001)));
  process.exit(0);
}

interface Report {
  top1: string;
  top3: string;
  coverage: string;
  precision: string;
  correctOfAll: string;
  oosAnswered: string;
  clarified: string;
  clarifyHit: string;
}
function evaluate(index: KbIndex, answerAt: number, withClarify: boolean): Report {
  let top1 = 0;
  let top3 = 0;
  let answered = 0;
  let correct = 0;
  let oosAnswered = 0;
  let clarified = 0;
  let clarifyHit = 0;
  for (const q of queries) {
    const matches = index.match(q.q, 3);
    if (q.expect && matches[0]?.articleId === q.expect) top1++;
    if (q.expect && matches.some((m) => m.articleId === q.expect)) top3++;
    const decision = decideMatch(matches, withClarify ? { ...defaultMatchPolicy, answerAt } : { ...defaultMatchPolicy, answerAt, clarifyAt: 2 });
    if (decision.action === 'answer') {
      answered++;
      if (decision.articleId === q.expect) correct++;
      if (!q.expect) oosAnswered++;
    } else if (decision.action === 'clarify') {
      clarified++;
      if (q.expect && decision.articleIds.includes(q.expect)) clarifyHit++;
    }
  }
  const oos = queries.length - inScope.length;
  return {
    top1: pct(top1, inScope.length),
    top3: pct(top3, inScope.length),
    coverage: pct(answered - oosAnswered, inScope.length),
    precision: pct(correct, answered),
    correctOfAll: pct(correct, inScope.length),
    oosAnswered: `${pct(oosAnswered, oos)} (${oosAnswered}/${oos})`,
    clarified: pct(clarified, queries.length),
    clarifyHit: pct(clarifyHit, clarified),
  };
}

const standardOnly = articles.map((a) => ({ ...a, questions: a.questions.slice(0, 1) }));
console.log(
  `split ${split}: ${articles.length} articles (${articles.filter((a) => a.questions.length > 1).length} with similar questions), ` +
    `${inScope.length} held-out phrasings, ${queries.length - inScope.length} out of scope`,
);
const trainStart = performance.now();
const trained = trainRanker(articles);
const trainMs = performance.now() - trainStart;
console.log(`ranker trained from the KB's own questions on ${trained.trainedOn} questions in ${trainMs.toFixed(0)} ms: ${JSON.stringify(trained.weights)}`);
const bm25Threshold = 0.25;
const rows: Array<[string, Report]> = [
  ['BM25 (before), similar questions loaded, threshold 0.25', evaluate(buildKbIndex(articles), bm25Threshold, false)],
  ['BM25 (before), standard questions only', evaluate(buildKbIndex(standardOnly), bm25Threshold, false)],
  ['staged, shipped weights, similar questions', evaluate(buildStagedIndex(articles), defaultMatchPolicy.answerAt, true)],
  ['staged, shipped weights, standard only', evaluate(buildStagedIndex(standardOnly), defaultMatchPolicy.answerAt, true)],
  ['staged, weights trained from this KB', evaluate(buildStagedIndex(articles, trained), defaultMatchPolicy.answerAt, true)],
  ['staged, shipped weights, no clarifying', evaluate(buildStagedIndex(articles), defaultMatchPolicy.answerAt, false)],
];
console.log('\n| matcher | top-1 | top-3 | coverage | precision | right answers / in scope | out of scope answered | clarified | right article among choices |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, r] of rows) {
  console.log(`| ${name} | ${r.top1} | ${r.top3} | ${r.coverage} | ${r.precision} | ${r.correctOfAll} | ${r.oosAnswered} | ${r.clarified} | ${r.clarifyHit} |`);
}
console.log('\nanswer threshold sweep (staged, shipped weights): threshold | coverage | precision | out of scope answered');
const staged = buildStagedIndex(articles);
for (const at of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) {
  const r = evaluate(staged, at, false);
  console.log(`  ${at.toFixed(2)} | ${r.coverage} | ${r.precision} | ${r.oosAnswered}`);
}

// Speed at bank scale: 2,000 articles with 30,000 similar questions, made of every AFQMC
// question in the set spread over more articles (the text is real; which article holds it is not).
const pool = [...new Set([...articles.flatMap((a) => a.questions), ...lines<Labelled>('./afqmc/queries.jsonl').map((q) => q.q)])];
const big: MatchableArticle[] = [];
for (let i = 0; i < 2000; i++) big.push({ id: `big-${i}`, title: pool[i % pool.length]!, questions: [], tags: [] });
for (let i = 0; i < 30000; i++) big[i % 2000]!.questions.push(`${pool[(i * 7 + 3) % pool.length]}${i >= pool.length ? ` ${i}` : ''}`);
const timings = (index: KbIndex) => {
  for (const q of queries.slice(0, 50)) index.match(q.q, 3);
  const out: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    for (const q of queries) {
      const start = performance.now();
      index.match(q.q, 3);
      out.push(performance.now() - start);
    }
  }
  out.sort((x, y) => x - y);
  return { p50: out[Math.floor(out.length * 0.5)]!, p99: out[Math.floor(out.length * 0.99)]! };
};
let start = performance.now();
const bigBm25 = buildKbIndex(big);
const bm25Build = performance.now() - start;
start = performance.now();
const bigStaged = buildStagedIndex(big);
const stagedBuild = performance.now() - start;
const bm25Time = timings(bigBm25);
const stagedTime = timings(bigStaged);
console.log(`\nlatency at 2,000 articles / 30,000 similar questions (${queries.length * 3} matches each):`);
console.log(`  BM25 (reference): p50 ${bm25Time.p50.toFixed(2)} ms, p99 ${bm25Time.p99.toFixed(2)} ms, build ${bm25Build.toFixed(0)} ms`);
console.log(
  `  staged: p50 ${stagedTime.p50.toFixed(2)} ms (${(stagedTime.p50 / bm25Time.p50).toFixed(2)}× BM25), p99 ${stagedTime.p99.toFixed(2)} ms (${(stagedTime.p99 / bm25Time.p99).toFixed(2)}× BM25), build ${stagedBuild.toFixed(0)} ms`,
);
