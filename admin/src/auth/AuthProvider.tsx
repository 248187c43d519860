import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { get, post, setCsrfToken, setUnauthorizedHandler } from '../api/client';
import type { Role, SessionAnswer, SessionUser } from '../api/types';

interface AuthState {
  user: SessionUser | undefined;
  /** True until the first /auth/me answer says whether a session exists. */
  checking: boolean;
  /** Set when the session ended under the user (idle timeout, revoked), to say so on the sign-in page. */
  expired: boolean;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  can(...roles: readonly Role[]): boolean;
}

const AuthContext = createContext<AuthState | undefined>(undefined);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [user, setUser] = useState<SessionUser>();
  const [checking, setChecking] = useState(true);
  const [expired, setExpired] = useState(false);

  const accept = useCallback((answer: SessionAnswer | undefined) => {
    setCsrfToken(answer?.csrfToken);
    setUser(answer?.user);
  }, []);

  useEffect(() => {
    get<SessionAnswer | { user: null }>('/auth/session')
      .then(
        (answer) => accept(answer.user ? answer : undefined),
        (error: unknown) => {
          console.warn('session check failed', error);
          accept(undefined);
        },
      )
      .finally(() => setChecking(false));
  }, [accept]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setExpired(true);
      accept(undefined);
      queryClient.clear();
    });
    return () => setUnauthorizedHandler(undefined);
  }, [accept, queryClient]);

  const value = useMemo<AuthState>(
    () => ({
      user,
      checking,
      expired,
      async signIn(email, password) {
        accept(await post<SessionAnswer>('/auth/login', { email, password }));
        setExpired(false);
      },
      async signOut() {
        try {
          await post('/auth/logout');
        } finally {
          accept(undefined);
          queryClient.clear();
        }
      },
      can: (...roles) => !!user && roles.includes(user.role),
    }),
    [user, checking, expired, accept, queryClient],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth() {
  const state = useContext(AuthContext);
  if (!state) throw new Error('useAuth outside AuthProvider');
  return state;
}

/** The signed-in user; only for screens behind the sign-in gate. */
export function useUser() {
  const { user } = useAuth();
  if (!user) throw new Error('useUser without a session');
  return user;
}
