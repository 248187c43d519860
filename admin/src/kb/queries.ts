import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';

/** A knowledge-base article as the API answers it (core/bot/kb-articles.ts). */
export interface KbArticle {
  id: string;
  title: string;
  questions: string[];
  answer: string;
  channelAnswers: Record<string, string>;
  tags: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type KbArticleInput = Pick<KbArticle, 'title' | 'questions' | 'answer' | 'channelAnswers' | 'tags' | 'enabled'>;

export const kbKeys = { articles: ['kb', 'articles'] as const };

/** The whole list at once: the API has no paging, and searching it in the browser answers as one types. */
export function useArticles() {
  return useQuery({ queryKey: kbKeys.articles, queryFn: async () => (await get<{ items: KbArticle[] }>('/kb/articles')).items });
}
