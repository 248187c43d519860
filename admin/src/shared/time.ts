import dayjs from 'dayjs';
import relativeTime from 'dayjs/plugin/relativeTime';

dayjs.extend(relativeTime);

/** "3 minutes ago" in the console's language; the exact time goes in a title for a hover. */
export function fromNow(at: string | Date | null | undefined) {
  return at ? dayjs(at).fromNow() : '';
}

export function formatTime(at: string | Date | null | undefined) {
  return at ? dayjs(at).format('YYYY-MM-DD HH:mm:ss') : '';
}

/** A wait as "2:05" or "1:02:05", as a queue board shows it. */
export function formatDuration(seconds: number | null | undefined) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
