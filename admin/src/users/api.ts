import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client';
import type { Role } from '../api/types';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastSignInAt: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  userId: string;
  userEmail: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const userKeys = { users: ['users'] as const, tokens: ['api-tokens'] as const };

export const useUsers = () => useQuery({ queryKey: userKeys.users, queryFn: () => get<{ items: User[] }>('/users').then((page) => page.items) });
export const useTokens = () => useQuery({ queryKey: userKeys.tokens, queryFn: () => get<{ items: ApiToken[] }>('/api-tokens').then((page) => page.items) });

export const roles: readonly Role[] = ['admin', 'supervisor', 'agent', 'marketer'];
