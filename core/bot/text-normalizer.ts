import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { Converter } from 'opencc-js';

// Traditional script from Hong Kong and Taiwan folds into Simplified, so one knowledge base
// written in Simplified serves both. Characters only: phrase tables would rewrite bank terms.
const toSimplified = Converter({ from: 'hk', to: 'cn' });

// Variants the converter keeps apart but customers use interchangeably (转帐 / 转账, 帐户 / 账户).
const variantFolds: Array<[RegExp, string]> = [[/帐/g, '账']];

/** Case, width, script and variant folding: the form every matcher and keyword rule compares. */
export function normalizeText(text: string): string {
  let out = toSimplified(text.normalize('NFKC').toLowerCase());
  for (const [pattern, replacement] of variantFolds) out = out.replace(pattern, replacement);
  return out;
}

let jieba: Jieba | undefined;

/** The dictionary ships inside the package; loading it takes about 200 ms, so it happens once, on first use. */
function segmenter(): Jieba {
  jieba ??= Jieba.withDict(dict);
  return jieba;
}

/** Search-mode segmentation: long words also yield their parts (信用卡 → 信用, 信用卡). */
export function segmentChinese(run: string): string[] {
  return segmenter().cutForSearch(run, true);
}

const cjkRun = /[\u3400-\u9fff\uf900-\ufaff]+/g;
const latinRun = /[a-z0-9]+/g;

/** Splits normalized text into its Chinese runs and its Latin words, in order of appearance. */
export function splitScripts(normalized: string): { chinese: string[]; latin: string[] } {
  return { chinese: normalized.match(cjkRun) ?? [], latin: normalized.match(latinRun) ?? [] };
}

/**
 * Whether a keyword occurs in the text, both normalized. Latin keywords must stand as whole words
 * ("agent" is not inside "agents' fees" by accident); Chinese ones match as substrings.
 */
export function containsKeyword(normalizedText: string, normalizedKeyword: string): boolean {
  if (!normalizedKeyword) return false;
  if (/^[a-z0-9 ]+$/.test(normalizedKeyword)) {
    const escaped = normalizedKeyword.replace(/ +/g, '\\s+');
    return new RegExp(`(^|[^a-z0-9])${escaped}($|[^a-z0-9])`).test(normalizedText);
  }
  return normalizedText.includes(normalizedKeyword);
}
