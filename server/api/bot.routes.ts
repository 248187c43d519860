import { z } from 'zod';
import { getBotSession, suggestArticles } from '../../core/bot/bot-responder.js';
import { botSettingsPatch, getBotSettings, updateBotSettings } from '../../core/bot/bot-settings.js';
import {
  createKbArticle,
  deleteKbArticle,
  getKbArticle,
  kbArticleFilters,
  kbArticleInput,
  kbArticlePatch,
  listKbArticles,
  updateKbArticle,
} from '../../core/bot/kb-articles.js';
import { kbQueryInput, queryKb } from '../../core/bot/kb-query.js';
import { defineRoute, staffRoles, type ApiRoute } from './route.js';

const editors = ['admin', 'supervisor'] as const;

export const botRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/kb/articles',
    summary: 'List knowledge-base articles, oldest first; filter by `tag` or `enabled`',
    tag: 'knowledge base',
    roles: staffRoles,
    query: kbArticleFilters,
    responds: { status: 200, description: '{ items: KbArticle[] }' },
    handle: async ({ runtime, query }) => ({ items: await listKbArticles(runtime.database.db, query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/kb/articles',
    summary: 'Create a knowledge-base article: question variants, answer, per-channel-type answers, tags',
    tag: 'knowledge base',
    roles: editors,
    body: kbArticleInput,
    responds: { status: 201, description: 'the KbArticle' },
    handle: ({ runtime, user, body }) => createKbArticle(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/kb/articles/:id',
    access: { none: 'the knowledge base is shared by all staff' },
    summary: 'Get a knowledge-base article',
    tag: 'knowledge base',
    roles: staffRoles,
    responds: { status: 200, description: 'the KbArticle' },
    handle: ({ runtime, params }) => getKbArticle(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'patch',
    path: '/kb/articles/:id',
    access: { none: 'the knowledge base is shared by all staff' },
    summary: 'Update a knowledge-base article; fields given replace the stored ones (lists as a whole)',
    tag: 'knowledge base',
    roles: editors,
    body: kbArticlePatch,
    responds: { status: 200, description: 'the KbArticle' },
    handle: ({ runtime, user, params, body }) => updateKbArticle(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/kb/articles/:id',
    access: { none: 'the knowledge base is shared by all staff' },
    summary: 'Delete a knowledge-base article (disable it instead to keep it for later)',
    tag: 'knowledge base',
    roles: editors,
    responds: { status: 200, description: '{ deleted: true }' },
    handle: async ({ runtime, user, params }) => {
      await deleteKbArticle(runtime.database.db, user.id, params.id!);
      return { deleted: true };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/kb/query',
    summary: 'Ask the knowledge base as a customer would: ranked articles with their confidence and the decision the bot would take',
    tag: 'knowledge base',
    roles: staffRoles,
    body: kbQueryInput,
    responds: {
      status: 200,
      description: "{ text, decision: { action: 'answer', articleId, confidence } | { action: 'clarify', articleIds } | { action: 'fallback' } | { action: 'handover', reason }, items: [{ articleId, title, confidence, answer }] }",
    },
    handle: ({ runtime, body }) => queryKb(runtime.kb, body),
  }),
  defineRoute({
    method: 'get',
    path: '/channels/:id/bot',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: "A channel's bot settings (defaults when never set: bot off)",
    tag: 'knowledge base',
    roles: ['admin', 'supervisor'],
    responds: { status: 200, description: 'BotSettings' },
    handle: ({ runtime, params }) => getBotSettings(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'patch',
    path: '/channels/:id/bot',
    access: { none: 'a channel is configuration, not customer data; its roles decide' },
    summary: "Change a channel's bot settings; fields given replace the stored ones (lists as a whole)",
    tag: 'knowledge base',
    roles: ['admin'],
    body: botSettingsPatch,
    responds: { status: 200, description: 'BotSettings' },
    handle: ({ runtime, user, params, body }) => updateBotSettings(runtime.database.db, user.id, params.id!, body),
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/suggestions',
    access: 'conversation',
    summary: "Agent assist: the knowledge-base articles closest to the customer's last message, best first, with scores",
    tag: 'conversations',
    roles: staffRoles,
    query: z.object({ limit: z.coerce.number().int().min(1).max(10).default(3) }),
    responds: { status: 200, description: '{ messageId, text, items: [{ articleId, title, score, answer, tags }] }' },
    handle: ({ runtime, params, query }) => suggestArticles({ db: runtime.database.db, kb: runtime.kb }, params.id!, query.limit),
  }),
  defineRoute({
    method: 'get',
    path: '/conversations/:id/bot',
    access: 'conversation',
    summary: "The bot's state in a conversation: active, handed_over (with reason and priority) or none",
    tag: 'conversations',
    roles: staffRoles,
    responds: { status: 200, description: '{ conversationId, state, failures, handoverReason, handoverPriority, handedOverAt }' },
    handle: ({ runtime, params }) => getBotSession(runtime.database.db, params.id!),
  }),
];
