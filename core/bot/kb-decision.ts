import type { ArticleMatch } from './kb-matcher.js';

/**
 * When the matcher's best article is sure enough to answer, when two or three are close enough to
 * ask which one is meant, and otherwise a fallback. Confidences are the ranker's estimated
 * probabilities of being the right article.
 */
export interface MatchPolicy {
  /** Answer when the best article's confidence reaches this. */
  answerAt: number;
  /** Offer choices when the best is below `answerAt` but at least this, with others close to it. */
  clarifyAt: number;
  /**
   * A runner-up is offered when its ranker score (log-odds, `relevance`) is within this of the
   * best one's: the margin feature already pushes every runner-up's probability down, so
   * comparing probabilities would almost never offer a choice.
   */
  closeLogit: number;
}

export const defaultMatchPolicy: MatchPolicy = { answerAt: 0.6, clarifyAt: 0.15, closeLogit: 3.5 };

export type MatchDecision =
  | { action: 'answer'; articleId: string; confidence: number }
  | { action: 'clarify'; articleIds: string[] }
  | { action: 'fallback' };

export function decideMatch(matches: ArticleMatch[], policy: MatchPolicy = defaultMatchPolicy): MatchDecision {
  const [best, ...rest] = matches;
  if (!best) return { action: 'fallback' };
  if (best.score >= policy.answerAt) return { action: 'answer', articleId: best.articleId, confidence: best.score };
  if (best.score < policy.clarifyAt) return { action: 'fallback' };
  const close = rest.filter((m) => best.relevance - m.relevance <= policy.closeLogit).slice(0, 2);
  if (!close.length) return { action: 'fallback' };
  return { action: 'clarify', articleIds: [best.articleId, ...close.map((m) => m.articleId)] };
}
