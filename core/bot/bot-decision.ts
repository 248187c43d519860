import type { ArticleMatch } from './kb-matcher.js';
import type { BotSettings } from './bot-settings.js';
import { containsKeyword, normalizeText } from './text-normalizer.js';

/** Priorities as conversations.priority: 0 low, 1 normal, 2 high, 3 urgent. */
export const normalPriority = 1;

export type HandoverReason = 'no_bot' | 'customer_request' | 'urgent_keyword' | 'bot_failed';

export type BotDecision =
  | { action: 'silent' }
  | { action: 'answer'; articleId: string; score: number }
  | { action: 'fallback'; failures: number }
  | { action: 'handover'; reason: HandoverReason; priority: number; notify: boolean; failures?: number };

export interface BotSituation {
  settings: BotSettings;
  /** The conversation is already with a person (handed over or assigned): the bot stays out. */
  withPerson: boolean;
  failures: number;
  /** The customer's text; null for content the bot cannot read (an image, a voice note). */
  text: string | null;
  /** Runs the matcher only when a match is needed. */
  match(text: string): ArticleMatch | undefined;
}

/**
 * What the bot does with one customer message. Rules come first, so a customer reporting fraud
 * reaches a person even when an article would match; then an explicit request for a person;
 * then the knowledge base; a miss counts towards the failure limit.
 */
export function decideBotAction(situation: BotSituation): BotDecision {
  const { settings } = situation;
  if (situation.withPerson) return { action: 'silent' };
  if (!settings.enabled) return { action: 'handover', reason: 'no_bot', priority: normalPriority, notify: false };
  const normalized = normalizeText(situation.text ?? '');
  const urgency = urgentPriority(settings, normalized);
  if (urgency !== undefined) return { action: 'handover', reason: 'urgent_keyword', priority: urgency, notify: true };
  if (settings.handoverKeywords.some((k) => containsKeyword(normalized, normalizeText(k)))) {
    return { action: 'handover', reason: 'customer_request', priority: normalPriority, notify: true };
  }
  const best = situation.text?.trim() ? situation.match(situation.text) : undefined;
  if (best && best.score >= settings.confidenceThreshold) return { action: 'answer', articleId: best.articleId, score: best.score };
  const failures = situation.failures + 1;
  if (failures >= settings.maxFailures) {
    return { action: 'handover', reason: 'bot_failed', priority: normalPriority, notify: true, failures };
  }
  return { action: 'fallback', failures };
}

/** The highest priority among the urgent rules the text triggers, if any. */
function urgentPriority(settings: BotSettings, normalized: string): number | undefined {
  const hits = settings.urgentRules
    .filter((rule) => rule.keywords.some((k) => containsKeyword(normalized, normalizeText(k))))
    .map((rule) => rule.priority);
  return hits.length ? Math.max(...hits) : undefined;
}

/** The answer as the customer receives it: the channel's variant when there is one, and the offer of a person. */
export function composeAnswer(
  article: { answer: string; channelAnswers: Record<string, string> },
  channelType: string,
  settings: BotSettings,
): string {
  return `${article.channelAnswers[channelType] ?? article.answer}\n\n${settings.offerText}`;
}
