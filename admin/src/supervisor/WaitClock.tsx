import { useEffect, useState } from 'react';
import { formatDuration } from '../shared/time';

/**
 * A wait measured when the data was fetched, counted on each second in the browser: the board
 * stays current without asking the hub every second. Only this text re-renders as it ticks.
 */
export function WaitClock({ seconds, measuredAt }: { seconds: number | null; measuredAt: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (seconds === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [seconds]);
  return <span style={{ fontVariantNumeric: 'tabular-nums' }}>{formatDuration(seconds === null ? null : seconds + Math.max(0, now - measuredAt) / 1000)}</span>;
}
