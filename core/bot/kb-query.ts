import { z } from 'zod';
import { channelTypes } from '../channels/contract.js';
import { decideBotAction } from './bot-decision.js';
import { defaultBotSettings } from './bot-settings.js';
import { decideMatch, defaultMatchPolicy } from './kb-decision.js';
import type { KbCache } from './kb-articles.js';

export const kbQueryInput = z.object({
  text: z.string().trim().min(1).max(1000),
  channelType: z.enum(channelTypes).optional(),
  limit: z.number().int().min(1).max(10).default(3),
});

/**
 * What the staged matcher makes of a text: the ranked articles with their confidence (the
 * ranker's estimated probability of being the right one) and the decision the bot would take,
 * `handover` when the default urgent or handover keywords occur, then answer, clarify or fallback.
 */
export async function queryKb(kb: KbCache, input: z.infer<typeof kbQueryInput>) {
  const snapshot = await kb.snapshot();
  const matches = snapshot.staged().match(input.text, Math.max(3, input.limit));
  const keywords = decideBotAction({ settings: { ...defaultBotSettings, enabled: true }, withPerson: false, failures: 0, text: input.text, match: () => undefined });
  const decision =
    keywords.action === 'handover' && keywords.reason !== 'bot_failed'
      ? { action: 'handover' as const, reason: keywords.reason }
      : decideMatch(matches, defaultMatchPolicy);
  const items = matches.slice(0, input.limit).flatMap((match) => {
    const article = snapshot.articles.get(match.articleId);
    if (!article) return [];
    const answer = (input.channelType && article.channelAnswers[input.channelType]) || article.answer;
    return [{ articleId: article.id, title: article.title, confidence: match.score, answer }];
  });
  return { text: input.text, decision, items };
}
