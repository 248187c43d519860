import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';

/** The shapes of core/routing/routing-rules.ts and routing-settings.ts, as the API answers them. */
export interface RuleConditions {
  channelTypes?: string[];
  languages?: string[];
  tiers?: string[];
  attributes?: Record<string, string | number | boolean>;
  keywords?: string[];
  timeOfDay?: { from: string; to: string; timezone: string; days?: number[] };
}

export interface RuleActions {
  teamId?: string;
  requiredSkills?: string[];
  priority?: number;
  slaPolicy?: string;
}

export interface RoutingRule {
  id: string;
  name: string;
  position: number;
  enabled: boolean;
  conditions: RuleConditions;
  actions: RuleActions;
  createdAt: string;
  updatedAt: string;
}

export type RuleInput = Pick<RoutingRule, 'name' | 'enabled' | 'conditions' | 'actions'> & { position?: number };

export interface RoutingSettings {
  strategy: 'least_busy' | 'round_robin';
  vipTiers: string[];
  vipPriority: number;
  defaultHandleMinutes: number;
  queueNotice: {
    enabled: boolean;
    minIntervalSeconds: number;
    minPositionChange: number;
    texts: { zh: string; en: string };
  };
}

export const routingKeys = { rules: ['routing', 'rules'] as const, settings: ['routing', 'settings'] as const };

export const priorities = [0, 1, 2, 3] as const;

export function useRules() {
  return useQuery({ queryKey: routingKeys.rules, queryFn: async () => (await get<{ items: RoutingRule[] }>('/routing/rules')).items });
}

export function useRoutingSettings() {
  return useQuery({ queryKey: routingKeys.settings, queryFn: () => get<RoutingSettings>('/routing/settings') });
}
