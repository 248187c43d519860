import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';
import type { JsonSchema } from './schema';

export interface Channel {
  id: string;
  type: string;
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  secretsSet: string[];
  createdAt: string;
  updatedAt: string;
  /** Added by the channel-health work; absent on hubs without it. */
  lastInboundAt?: string | null;
  lastError?: string | { message?: string; at?: string } | null;
}

export interface ChannelTypeInfo {
  type: string;
  displayName: string;
  schema: JsonSchema;
  secretFields: string[];
  testable: boolean;
}

export interface ChannelTypes {
  publicBaseUrl: string | null;
  smtpPort: number | null;
  items: ChannelTypeInfo[];
}

export interface BotSettings {
  enabled: boolean;
  handoverKeywords: string[];
  maxFailures: number;
  confidenceThreshold: number;
  offerText: string;
  fallbackText: string;
  handoverText: string;
  urgentRules: { keywords: string[]; priority: number }[];
}

export const channelKeys = {
  all: ['channels'] as const,
  one: (id: string) => ['channels', id] as const,
  bot: (id: string) => ['channels', id, 'bot'] as const,
  types: ['channel-types'] as const,
};

/** Health columns change as messages arrive; a slow poll keeps them current without live frames for channels. */
export const useChannels = () =>
  useQuery({ queryKey: channelKeys.all, queryFn: () => get<{ items: Channel[] }>('/channels').then((page) => page.items), refetchInterval: 30_000 });

export const useChannel = (id: string) => useQuery({ queryKey: channelKeys.one(id), queryFn: () => get<Channel>(`/channels/${id}`) });

export const useChannelTypes = () => useQuery({ queryKey: channelKeys.types, queryFn: () => get<ChannelTypes>('/channel-types'), staleTime: Infinity });

/** Where providers reach the hub: its PUBLIC_BASE_URL, else the address this console was opened at. */
export function hubBaseUrl(types: ChannelTypes | undefined) {
  return types?.publicBaseUrl ?? window.location.origin;
}

export function lastErrorText(error: Channel['lastError']) {
  if (!error) return undefined;
  return typeof error === 'string' ? error : error.message;
}
