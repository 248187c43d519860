import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useLiveEvents } from '../live/LiveFeed';

/** Frames that change no counts: the socket's greeting, its complaints and typing hints. */
const quiet = new Set(['ready', 'error', 'visitor.typing', 'typing']);

/**
 * Refetches `keys` after queue, conversation, message or presence events, at most once per
 * `delayMs`: a burst of arrivals (a campaign's replies, a shift signing on) costs one refetch,
 * not one per event.
 */
export function useLiveRefresh(keys: QueryKey[], delayMs = 500) {
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latestKeys = useRef(keys);
  latestKeys.current = keys;
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents((event) => {
    if (quiet.has(event.type) || timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      for (const queryKey of latestKeys.current) void queryClient.invalidateQueries({ queryKey });
    }, delayMs);
  });
}
