import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, patch, post } from '../api/client';

/** As GET /sla/policies answers (core/sla/sla-policies.ts). */
export interface SlaPolicy {
  id: string;
  name: string;
  calendarId: string | null;
  firstResponseSeconds: number | null;
  nextResponseSeconds: number | null;
  resolutionSeconds: number | null;
  warnPercent: number | null;
  isDefault: boolean;
  escalation: { raisePriority?: number; notify?: boolean };
}

export interface SlaCalendar {
  id: string;
  name: string;
  timeZone: string;
  hours: Record<string, Array<{ from: string; to: string }>>;
  holidays: string[];
  workdays: string[];
}

const keys = { policies: ['sla', 'policies'] as const, calendars: ['sla', 'calendars'] as const };

export const usePolicies = () => useQuery({ queryKey: keys.policies, queryFn: async () => (await get<{ items: SlaPolicy[] }>('/sla/policies')).items });
export const useCalendars = () => useQuery({ queryKey: keys.calendars, queryFn: async () => (await get<{ items: SlaCalendar[] }>('/sla/calendars')).items });

export function useSavePolicy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: Partial<SlaPolicy>) => (id ? patch<SlaPolicy>(`/sla/policies/${id}`, body) : post<SlaPolicy>('/sla/policies', body)),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.policies }),
  });
}

export function useSaveCalendar() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: Partial<SlaCalendar>) => (id ? patch<SlaCalendar>(`/sla/calendars/${id}`, body) : post<SlaCalendar>('/sla/calendars', body)),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.calendars }),
  });
}
