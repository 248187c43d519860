/**
 * Business-time arithmetic for SLA clocks. A calendar opens in periods of local wall-clock time
 * per ISO weekday, in an IANA time zone (with or without daylight saving); holidays close a date
 * and make-up working days (调休) open a date with Monday's hours, whatever its weekday.
 */
export interface BusinessCalendar {
  timeZone: string;
  /** ISO weekday (1 = Monday … 7 = Sunday) → periods `HH:MM`–`HH:MM`; `to` 24:00 ends the day. */
  hours: Record<string, Array<{ from: string; to: string }>>;
  /** Closed dates, `YYYY-MM-DD`. */
  holidays: readonly string[];
  /** Make-up working dates, `YYYY-MM-DD`, open with Monday's periods. */
  workdays: readonly string[];
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether the name is a time zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

function localParts(ms: number, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (ms - (ms % 1000 + 1000) % 1000);
}

/**
 * The instant a local wall-clock time names. A time skipped by a spring-forward change maps to
 * the instant just after the gap; a repeated one to its first occurrence.
 */
export function zonedToInstant(year: number, month: number, day: number, minuteOfDay: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day) + minuteOfDay * 60_000;
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  if (second === first) return first;
  const third = wall - offsetAt(second, timeZone);
  return Math.min(second, third);
}

const pad = (n: number) => String(n).padStart(2, '0');
const dateKey = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;

/** `HH:MM` → minutes since midnight; `24:00` is the end of the day. */
export function parseClock(value: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value);
  if (!match) throw new Error(`invalid time ${value}: expected HH:MM`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > 24 * 60) throw new Error(`invalid time ${value}: after 24:00`);
  return minutes;
}

/** The opening periods of a local date, in minutes since midnight, sorted. */
function periodsOn(calendar: BusinessCalendar, year: number, month: number, day: number): Array<[number, number]> {
  const key = dateKey(year, month, day);
  if (calendar.holidays.includes(key)) return [];
  const weekday = ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
  const source = calendar.workdays.includes(key) ? calendar.hours['1'] : calendar.hours[String(weekday)];
  return (source ?? [])
    .map((p) => [parseClock(p.from), parseClock(p.to)] as [number, number])
    .filter(([from, to]) => to > from)
    .sort((a, b) => a[0] - b[0]);
}

/** Whether the calendar opens at all (a week with no period would never reach a due time). */
export function hasOpeningHours(calendar: BusinessCalendar): boolean {
  return Object.values(calendar.hours).some((periods) => periods.some((p) => parseClock(p.to) > parseClock(p.from)));
}

/** Whether the calendar is open at the instant. */
export function isOpenAt(calendar: BusinessCalendar, ms: number): boolean {
  const p = localParts(ms, calendar.timeZone);
  const minute = p.hour * 60 + p.minute + p.second / 60;
  return periodsOn(calendar, p.year, p.month, p.day).some(([from, to]) => minute >= from && minute < to);
}

const maxDays = 3 * 366;

/**
 * The instant `seconds` of business time after `start`. Null when the calendar has no opening
 * in the next three years (a calendar of holidays only).
 */
export function addBusinessSeconds(calendar: BusinessCalendar | null, start: Date, seconds: number): Date | null {
  if (!calendar) return new Date(start.getTime() + seconds * 1000);
  let remaining = seconds * 1000;
  const startMs = start.getTime();
  const first = localParts(startMs, calendar.timeZone);
  // Walk local dates from the start's; noon UTC of a date keeps the date arithmetic off DST edges.
  let cursorDate = Date.UTC(first.year, first.month - 1, first.day, 12);
  for (let i = 0; i < maxDays; i++, cursorDate += 86_400_000) {
    const d = new Date(cursorDate);
    const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    for (const [from, to] of periodsOn(calendar, y, m, day)) {
      const open = Math.max(zonedToInstant(y, m, day, from, calendar.timeZone), startMs);
      const close = zonedToInstant(y, m, day, to, calendar.timeZone);
      if (close <= open) continue;
      if (remaining <= close - open) return new Date(open + remaining);
      remaining -= close - open;
    }
  }
  return null;
}

/** Business seconds between two instants (zero when `to` is not after `from`). */
export function businessSecondsBetween(calendar: BusinessCalendar | null, from: Date, to: Date): number {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  if (toMs <= fromMs) return 0;
  if (!calendar) return (toMs - fromMs) / 1000;
  let total = 0;
  const first = localParts(fromMs, calendar.timeZone);
  let cursorDate = Date.UTC(first.year, first.month - 1, first.day, 12);
  for (let i = 0; i < maxDays; i++, cursorDate += 86_400_000) {
    const d = new Date(cursorDate);
    const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    if (zonedToInstant(y, m, day, 0, calendar.timeZone) >= toMs) break;
    for (const [a, b] of periodsOn(calendar, y, m, day)) {
      const open = Math.max(zonedToInstant(y, m, day, a, calendar.timeZone), fromMs);
      const close = Math.min(zonedToInstant(y, m, day, b, calendar.timeZone), toMs);
      if (close > open) total += close - open;
    }
  }
  return total / 1000;
}
