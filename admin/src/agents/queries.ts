import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';
import type { Role } from '../api/types';

export const presences = ['online', 'busy', 'away', 'offline'] as const;
export type Presence = (typeof presences)[number];

/** An agent profile as GET /agents answers it (core/routing/agent-profiles.ts). */
export interface AgentProfile {
  userId: string;
  name: string;
  email: string;
  role: Role;
  presence: Presence;
  presenceChangedAt: string;
  skills: string[];
  languages: string[];
  teamIds: string[];
  capacity: number;
  channelCapacity: Record<string, number>;
  activeCount: number;
  channelLoad: Record<string, number>;
  lastAssignedAt: string | null;
}

/** What PUT /agents/:id accepts; fields left out keep their value. */
export type AgentProfileInput = Partial<Pick<AgentProfile, 'skills' | 'languages' | 'teamIds' | 'capacity' | 'channelCapacity'>>;

export const agentKeys = { all: ['agents'] as const, list: ['agents', 'list'] as const };

export function useAgents(options: { refetchInterval?: number } = {}) {
  return useQuery({
    queryKey: agentKeys.list,
    queryFn: async () => (await get<{ items: AgentProfile[] }>('/agents')).items,
    refetchInterval: options.refetchInterval,
  });
}
