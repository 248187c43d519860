import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';
import type { Presence } from '../agents/queries';

/** GET /supervisor/overview (core/reports/supervisor-overview.ts): the live queue, every agent's load and today's volumes. */
export interface Overview {
  queue: { waiting: number; longestWaitSeconds: number | null; byTeam: TeamLine[] };
  agents: AgentLoad[];
  today: { timeZone: string; since: string | null; byChannel: ChannelVolume[]; resolved: number; opened: number };
}

export interface TeamLine {
  /** Null for the common line of conversations without a team. */
  teamId: string | null;
  name: string | null;
  waiting: number;
  longestWaitSeconds: number | null;
}

export interface AgentLoad {
  userId: string;
  name: string;
  presence: Presence;
  activeConversations: number;
  capacity: number;
  teams: { id: string; name: string }[];
}

export interface ChannelVolume {
  channelId: string;
  name: string;
  type: string;
  inbound: number;
  outbound: number;
  conversationsOpened: number;
}

export const overviewKey = ['supervisor', 'overview'] as const;

// "Today" is the supervisor's own day, wherever the hub server runs.
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Live events invalidate it; the slow interval covers a socket that missed some. */
export function useOverview() {
  return useQuery({
    queryKey: overviewKey,
    queryFn: () => get<Overview>('/supervisor/overview', { timeZone }),
    refetchInterval: 60_000,
    placeholderData: (previous) => previous,
  });
}
