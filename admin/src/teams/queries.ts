import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { get } from '../api/client';

/** A team as GET /teams answers it (core/routing/agent-profiles.ts). */
export interface Team {
  id: string;
  name: string;
  createdAt: string;
}

export const teamKeys = { all: ['teams'] as const };

/** Teams are read by the agents, routing and supervisor screens too, from one cached query. */
export function useTeams() {
  return useQuery({ queryKey: teamKeys.all, queryFn: async () => (await get<{ items: Team[] }>('/teams')).items, staleTime: 30_000 });
}

export function useTeamOptions() {
  const teams = useTeams();
  return { loading: teams.isLoading, options: (teams.data ?? []).map((team) => ({ value: team.id, label: team.name })) };
}

/** Names by id, for showing a team id as its name (or the id itself while unknown). */
export function useTeamName() {
  const { data } = useTeams();
  return useMemo(() => {
    const byId = new Map((data ?? []).map((team) => [team.id, team.name]));
    return (id: string) => byId.get(id) ?? id;
  }, [data]);
}
