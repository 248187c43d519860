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
  /** A runner-up is offered when its confidence is at least this share of the best one's. */
  closeShare: number;
}

export const defaultMatchPolicy: MatchPolicy = { answerAt: 0.6, clarifyAt: 0.15, closeShare: 0.35 };

export type MatchDecision =
  | { action: 'answer'; articleId: string; confidence: number }
  | { action: 'clarify'; articleIds: string[] }
  | { action: 'fallback' };

export function decideMatch(matches: ArticleMatch[], policy: MatchPolicy = defaultMatchPolicy): MatchDecision {
  const [best, ...rest] = matches;
  if (!best) return { action: 'fallback' };
  if (best.score >= policy.answerAt) return { action: 'answer', articleId: best.articleId, confidence: best.score };
  if (best.score < policy.clarifyAt) return { action: 'fallback' };
  const close = rest.filter((m) => m.score >= policy.clarifyAt && m.score >= best.score * policy.closeShare).slice(0, 2);
  if (!close.length) return { action: 'fallback' };
  return { action: 'clarify', articleIds: [best.articleId, ...close.map((m) => m.articleId)] };
}
