import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post, put } from '../api/client';

/** As the campaigns API answers (core/campaigns). */
export type Condition = { field: string; op: string; value?: unknown; key?: string };
export type Filter = { and: Filter[] } | { or: Filter[] } | { not: Filter } | Condition;
export interface Audience { id: string; name: string; filter: Filter }
export interface Template { id: string; name: string; channelType: string; subject: string | null; body: string }
export interface CampaignChannel { id: string; name: string; type: string; enabled: boolean }
export type Outcome = 'pending' | 'deferred' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'unknown' | 'skipped';
export type Totals = Record<Outcome | 'recipients', number>;
export interface Campaign {
  id: string;
  name: string;
  kind: 'one_off' | 'recurring' | 'triggered';
  status: 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';
  audienceId: string | null;
  templateId: string;
  channelId: string;
  category: 'marketing' | 'transactional';
  settings: Record<string, unknown>;
  createdAt: string;
  totals: Totals;
}
export interface AudiencePreview { count: number; sample: Array<{ id: string; name: string | null; tier: string | null; language: string | null }> }
export interface TemplatePreview { subject: string | null; body: string; missing: string[]; variables: string[]; sms?: { encoding: string; segments: number } }
export interface CampaignResults {
  totals: Totals;
  skipped: Array<{ reason: string; n: number }>;
  failures: Array<{ code: string; n: number }>;
  timeline: Array<{ at: string; sent: number; failed: number }>;
}

const keys = {
  all: ['campaigns'] as const,
  list: ['campaigns', 'list'] as const,
  audiences: ['campaigns', 'audiences'] as const,
  templates: ['campaigns', 'templates'] as const,
  channels: ['campaigns', 'channels'] as const,
};

/** While anything is sending, the list re-reads its totals every few seconds. */
export const useCampaigns = () =>
  useQuery({
    queryKey: keys.list,
    queryFn: async () => (await get<{ items: Campaign[] }>('/campaigns')).items,
    refetchInterval: (query) => (query.state.data?.some((c) => c.status === 'running' || c.status === 'scheduled') ? 3_000 : false),
  });
export const useAudiences = () => useQuery({ queryKey: keys.audiences, queryFn: async () => (await get<{ items: Audience[] }>('/audiences')).items });
export const useTemplates = () => useQuery({ queryKey: keys.templates, queryFn: async () => (await get<{ items: Template[] }>('/campaign-templates')).items });
export const useCampaignChannels = () =>
  useQuery({ queryKey: keys.channels, queryFn: async () => (await get<{ items: CampaignChannel[] }>('/campaign-channels')).items });

export const useCampaignResults = (id: string | undefined, live: boolean) =>
  useQuery({
    queryKey: [...keys.all, 'results', id],
    queryFn: () => get<CampaignResults>(`/campaigns/${id}/results`),
    enabled: !!id,
    refetchInterval: live ? 3_000 : false,
  });

/** The builder's live count: the last answer stays shown while the next is on its way, so nothing jumps. */
export const useAudiencePreview = (filter: Filter | undefined) =>
  useQuery({
    queryKey: [...keys.all, 'audience-preview', filter],
    queryFn: () => post<AudiencePreview>('/audiences/preview', { filter }),
    enabled: !!filter,
    placeholderData: keepPreviousData,
    retry: false,
  });

export const useTemplatePreview = (draft: { channelType?: string; subject?: string | null; body?: string; contactId?: string } | undefined) =>
  useQuery({
    queryKey: [...keys.all, 'template-preview', draft],
    queryFn: () => post<TemplatePreview>('/campaign-templates/preview', draft),
    enabled: !!draft?.channelType && !!draft.body,
    placeholderData: keepPreviousData,
    retry: false,
  });

function useSave<T>(fn: (body: T) => Promise<unknown>) {
  const client = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => client.invalidateQueries({ queryKey: keys.all }) });
}

export const useSaveAudience = () =>
  useSave(({ id, ...body }: { id?: string; name: string; filter: Filter }) => (id ? put(`/audiences/${id}`, body) : post('/audiences', body)));
export const useSaveTemplate = () =>
  useSave(({ id, ...body }: Partial<Template>) => (id ? put(`/campaign-templates/${id}`, body) : post('/campaign-templates', body)));
export const useCreateCampaign = () => useSave((body: Record<string, unknown>) => post<Campaign>('/campaigns', body));
export const useCampaignAction = () =>
  useSave(({ id, action }: { id: string; action: 'start' | 'pause' | 'resume' | 'cancel' }) => post<Campaign>(`/campaigns/${id}/${action}`));
