/**
 * Builds the held-out evaluation set in bench/bot/afqmc/ from the public AFQMC corpus (Ant
 * Financial Question Matching Corpus: pairs of real customer-service questions about Huabei and
 * Jiebei, labelled 1 when they mean the same). Nobody on this project wrote these questions.
 *
 * Run once, with the three labelled files of the AFQMC copy in github.com/zejunwang1/CSTS
 * (`AFQMC/{train,dev,test}.txt`, tab-separated `sentence1 sentence2 label`):
 *   node --import tsx bench/bot/build-afqmc-set.ts /path/to/AFQMC
 *
 * How the set is made (deterministic, seed below):
 * - Positive pairs are joined into groups of questions that mean the same (union-find): one group
 *   is one article. Groups of three or more questions (113 of them) give an article a standard
 *   question, similar questions and held-out phrasings; pairs give a standard question and one
 *   held-out phrasing.
 * - The knowledge base is every group of three or more plus pairs drawn at random, 1,000 articles.
 * - Articles are split in half: the held-out phrasings of development articles are for tuning,
 *   those of test articles for the figures.
 * - Out-of-scope questions are the annotators' negatives: a question labelled "not the same" as
 *   one of the knowledge base's questions and not itself in any positive pair. They are close to
 *   an article (same product, same words) but it does not answer them: the hardest kind.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const source = process.argv[2];
if (!source) throw new Error('usage: build-afqmc-set.ts <AFQMC folder>');
const articleCount = 1000;
let seed = 20_240_615;
const random = () => {
  // mulberry32: a fixed sequence, so the set can be rebuilt byte for byte.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const shuffle = <T>(items: T[]) => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
};

const pairs: Array<[string, string, number]> = [];
for (const file of ['train.txt', 'dev.txt', 'test.txt']) {
  for (const line of readFileSync(join(source, file), 'utf8').split('\n')) {
    const [a, b, label] = line.split('\t');
    if (a && b && (label === '0' || label === '1')) pairs.push([a.trim(), b.trim(), Number(label)]);
  }
}

const parent = new Map<string, string>();
const find = (x: string): string => {
  let root = x;
  while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root)!;
  parent.set(x, root);
  if (!parent.has(root)) parent.set(root, root);
  return root;
};
const order = new Map<string, number>();
for (const [a, b, label] of pairs) {
  if (label !== 1 || a === b) continue;
  for (const s of [a, b]) if (!order.has(s)) order.set(s, order.size);
  const ra = find(a);
  const rb = find(b);
  if (ra !== rb) parent.set(rb, ra);
}
const groups = new Map<string, string[]>();
for (const s of order.keys()) {
  const root = find(s);
  groups.set(root, [...(groups.get(root) ?? []), s]);
}
const inPositive = new Set(order.keys());
const all = [...groups.values()].map((members) => members.sort((x, y) => order.get(x)! - order.get(y)!));
const rich = all.filter((g) => g.length >= 3);
const plain = shuffle(all.filter((g) => g.length === 2));
const chosen = shuffle([...rich, ...plain.slice(0, articleCount - rich.length)]);

interface Article {
  id: string;
  title: string;
  questions: string[];
  tags: string[];
  split: 'dev' | 'test';
}
interface Labelled {
  q: string;
  expect: string | null;
  split: 'dev' | 'test';
  kind: string;
}
const articles: Article[] = [];
const queries: Labelled[] = [];
chosen.forEach((members, i) => {
  const id = `afqmc-${String(i + 1).padStart(4, '0')}`;
  const split = i % 2 === 0 ? 'dev' : 'test';
  const [standard, ...rest] = members;
  // Half of the other phrasings (rounded down) become similar questions; the rest are held out.
  const similar = rest.slice(0, Math.floor(rest.length / 2));
  const heldOut = rest.slice(similar.length);
  articles.push({ id, title: standard!, questions: [standard!, ...similar], tags: [], split });
  for (const q of heldOut) queries.push({ q, expect: id, split, kind: similar.length ? 'has-similar' : 'standard-only' });
});

const kbQuestion = new Map<string, Article>();
for (const article of articles) for (const q of article.questions) kbQuestion.set(q, article);
const outOfScope = new Set<string>();
for (const [a, b, label] of pairs) {
  if (label !== 0) continue;
  for (const [inKb, other] of [
    [a, b],
    [b, a],
  ] as const) {
    if (kbQuestion.has(inKb) && !inPositive.has(other) && !kbQuestion.has(other) && !outOfScope.has(other)) {
      outOfScope.add(other);
      queries.push({ q: other, expect: null, split: kbQuestion.get(inKb)!.split, kind: 'out-of-scope' });
    }
  }
}

const out = new URL('./afqmc/', import.meta.url);
mkdirSync(out, { recursive: true });
const lines = (rows: unknown[]) => `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
writeFileSync(new URL('kb.jsonl', out), lines(articles.map(({ split: _split, ...article }) => ({ ...article, split: _split }))));
writeFileSync(new URL('queries.jsonl', out), lines(queries));
const count = (split: string, kind?: string) => queries.filter((q) => q.split === split && (!kind || q.kind === kind)).length;
console.log(
  `pairs ${pairs.length}, groups ${all.length} (${rich.length} of 3+), articles ${articles.length}, ` +
    `dev: ${count('dev')} queries (${count('dev', 'out-of-scope')} out of scope), test: ${count('test')} (${count('test', 'out-of-scope')} out of scope)`,
);
