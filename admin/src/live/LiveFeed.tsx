import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { post } from '../api/client';
import { staffRoles } from '../api/types';
import { useAuth } from '../auth/AuthProvider';

/** A frame the hub sends on /ws/agent: domain events, routing changes, typing hints. */
export interface LiveEvent {
  type: string;
  conversationId?: string;
  [field: string]: unknown;
}

type Listener = (event: LiveEvent) => void;

interface LiveState {
  connected: boolean;
  subscribe(listener: Listener): () => void;
  send(frame: unknown): void;
}

const LiveContext = createContext<LiveState>({ connected: false, subscribe: () => () => {}, send: () => {} });

/**
 * One socket per tab to the agent feed. A ticket (single use, seconds long) opens it, because a
 * browser cannot put the session on a WebSocket's headers; on a drop it reconnects with backoff
 * and refetches what may have changed meanwhile, so no update is lost to a reconnect.
 */
export function LiveFeedProvider({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const queryClient = useQueryClient();
  const listeners = useRef(new Set<Listener>());
  const socketRef = useRef<WebSocket | undefined>(undefined);
  const [connected, setConnected] = useState(false);
  const staff = !!user && staffRoles.includes(user.role);

  useEffect(() => {
    if (!staff) return;
    let stopped = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    async function connect() {
      try {
        const { path } = await post<{ path: string }>('/agents/me/socket-ticket');
        if (stopped) return;
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        const socket = new WebSocket(`${scheme}://${location.host}${path}`);
        socketRef.current = socket;
        socket.onopen = () => {
          if (attempt > 0) void queryClient.invalidateQueries();
          attempt = 0;
          setConnected(true);
        };
        socket.onmessage = (message) => {
          let event: LiveEvent;
          try {
            event = JSON.parse(String(message.data)) as LiveEvent;
          } catch {
            return;
          }
          for (const listener of listeners.current) listener(event);
        };
        socket.onclose = () => {
          setConnected(false);
          socketRef.current = undefined;
          retry();
        };
      } catch {
        retry();
      }
    }

    function retry() {
      if (stopped) return;
      attempt += 1;
      timer = setTimeout(connect, Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }

    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socketRef.current?.close();
      socketRef.current = undefined;
      setConnected(false);
    };
  }, [staff, queryClient]);

  const state = useMemo<LiveState>(
    () => ({
      connected,
      subscribe(listener) {
        listeners.current.add(listener);
        return () => listeners.current.delete(listener);
      },
      send(frame) {
        if (socketRef.current?.readyState === WebSocket.OPEN) socketRef.current.send(JSON.stringify(frame));
      },
    }),
    [connected],
  );
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLiveFeed() {
  return useContext(LiveContext);
}

/** Runs `listener` for every live event while the component is mounted. */
export function useLiveEvents(listener: Listener) {
  const { subscribe } = useLiveFeed();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => subscribe((event) => latest.current(event)), [subscribe]);
}
