/** What a keyword message asks for. */
export type KeywordIntent = 'opt_out' | 'opt_in' | 'help';

// The carrier-standard English keywords, and the ones Chinese operators use (退订 "unsubscribe",
// TD its pinyin initials).
const intents = new Map<string, KeywordIntent>([
  ...['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', '退订', 'TD'].map((k) => [k, 'opt_out'] as const),
  ...['START', 'YES', 'UNSTOP'].map((k) => [k, 'opt_in'] as const),
  ['HELP', 'help'],
]);

/**
 * The consent keyword a message consists of, if any. Only a message that is the keyword alone
 * counts (any case, surrounding spaces and a final punctuation mark ignored), as carriers count
 * it: "please stop calling me at work" is for an agent to read, not an opt-out.
 */
export function matchConsentKeyword(text: string | null | undefined): { keyword: string; intent: KeywordIntent } | undefined {
  const keyword = (text ?? '')
    .trim()
    .replace(/[.!。！]$/u, '')
    .trim()
    .toUpperCase();
  const intent = intents.get(keyword);
  return intent ? { keyword, intent } : undefined;
}
