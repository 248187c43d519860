/**
 * Match quality and speed of the knowledge-base matcher on a labelled set of customer questions.
 * Run: npm run bench:bot [-- --threshold 0.3]
 */
import { readFileSync } from 'node:fs';
import { buildKbIndex, defaultFeatureWeights, type FeatureWeights, type MatchableArticle } from '../../core/bot/kb-matcher.js';
import { defaultBotSettings } from '../../core/bot/bot-settings.js';

interface Labelled {
  q: string;
  /** The article that answers it, or null when the bot must not answer. */
  expect: string | null;
  kind: string;
}

const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;
const articles = read<MatchableArticle[]>('./kb-articles.json');
const questions = read<Labelled[]>('./questions.json');
const thresholdArg = process.argv.indexOf('--threshold');
const threshold = thresholdArg > 0 ? Number(process.argv[thresholdArg + 1]) : defaultBotSettings.confidenceThreshold;

const buildStart = performance.now();
const index = buildKbIndex(articles);
const buildMs = performance.now() - buildStart;
index.match('预热 warm up');

const results = questions.map((question) => {
  const candidates = index.match(question.q, 3);
  return { ...question, top: candidates[0], candidates };
});
// Every question matched 20 times, so the percentiles rest on a few thousand timings.
const latencies: number[] = [];
for (let pass = 0; pass < 20; pass++) {
  for (const question of questions) {
    const start = performance.now();
    index.match(question.q, 3);
    latencies.push(performance.now() - start);
  }
}
latencies.sort((x, y) => x - y);

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');
const inScope = results.filter((r) => r.expect);
const outOfScope = results.filter((r) => !r.expect);

function evaluate(at: number) {
  const answered = results.filter((r) => r.top && r.top.score >= at);
  const correct = answered.filter((r) => r.top!.articleId === r.expect);
  const answeredInScope = answered.filter((r) => r.expect);
  return {
    answered: answered.length,
    precision: pct(correct.length, answered.length),
    coverage: pct(answeredInScope.length, inScope.length),
    correctCoverage: pct(correct.length, inScope.length),
    outOfScopeAnswered: answered.filter((r) => !r.expect).length,
  };
}

const top1 = inScope.filter((r) => r.top?.articleId === r.expect).length;
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);

console.log(`articles: ${articles.length}, questions: ${questions.length} (${inScope.length} in scope, ${outOfScope.length} out of scope)`);
console.log(`top-1 accuracy (in scope): ${pct(top1, inScope.length)} (${top1}/${inScope.length})`);
const top3 = inScope.filter((r) => r.candidates.some((c) => c.articleId === r.expect)).length;
console.log(`top-3 hit rate (agent-assist suggestions): ${pct(top3, inScope.length)} (${top3}/${inScope.length})`);
const byKind = new Map<string, { n: number; ok: number }>();
for (const r of inScope) {
  const entry = byKind.get(r.kind) ?? { n: 0, ok: 0 };
  entry.n++;
  if (r.top?.articleId === r.expect) entry.ok++;
  byKind.set(r.kind, entry);
}
for (const [kind, { n, ok }] of byKind) console.log(`  ${kind.padEnd(8)} ${pct(ok, n).padStart(6)} (${ok}/${n})`);

console.log(`\nat threshold ${threshold}:`, evaluate(threshold));
console.log('\nthreshold sweep: threshold | answered | precision | coverage | correct answers / in scope | out-of-scope answered');
for (const at of [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]) {
  const e = evaluate(at);
  console.log(`  ${at.toFixed(2)} | ${e.answered} | ${e.precision} | ${e.coverage} | ${e.correctCoverage} | ${e.outOfScopeAnswered}`);
}
console.log(`\nmatching latency (${latencies.length} matches): p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms, max ${latencies.at(-1)!.toFixed(2)} ms; index build ${buildMs.toFixed(0)} ms (includes loading the dictionary)`);

// Why the default weights: each feature family alone against the combination.
const variants: Array<[string, FeatureWeights]> = [
  ['jieba words only', { word: 1, bigram: 0, trigram: 0 }],
  ['CJK bigrams only', { word: 0, bigram: 1, trigram: 0 }],
  ['words + bigrams', { ...defaultFeatureWeights, trigram: 0 }],
  ['words + bigrams + Latin trigrams (default)', defaultFeatureWeights],
];
console.log(`\nfeature ablation at threshold ${threshold}: top-1 | precision | correct answers / in scope | out-of-scope answered`);
for (const [name, weights] of variants) {
  const variantIndex = buildKbIndex(articles, weights);
  const tops = questions.map((question) => ({ ...question, top: variantIndex.match(question.q, 1)[0] }));
  const hits = tops.filter((r) => r.expect && r.top?.articleId === r.expect).length;
  const answered = tops.filter((r) => r.top && r.top.score >= threshold);
  const correct = answered.filter((r) => r.top!.articleId === r.expect).length;
  console.log(`  ${name}: ${pct(hits, inScope.length)} | ${pct(correct, answered.length)} | ${pct(correct, inScope.length)} | ${answered.filter((r) => !r.expect).length}`);
}

if (process.argv.includes('--misses')) {
  for (const r of results) {
    const wrong = r.expect ? r.top?.articleId !== r.expect : (r.top?.score ?? 0) >= threshold;
    if (wrong) console.log(`MISS [${r.kind}] ${r.q} -> ${r.top?.articleId ?? '-'} ${r.top?.score ?? ''} (want ${r.expect})`);
  }
}
