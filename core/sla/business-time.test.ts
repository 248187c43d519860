import { describe, expect, it } from 'vitest';
import { addBusinessSeconds, businessSecondsBetween, isOpenAt, type BusinessCalendar } from './business-time.js';

const weekdays = (periods: Array<{ from: string; to: string }>) => Object.fromEntries(['1', '2', '3', '4', '5'].map((d) => [d, periods]));

const shanghai: BusinessCalendar = {
  timeZone: 'Asia/Shanghai',
  hours: weekdays([
    { from: '09:00', to: '12:00' },
    { from: '13:00', to: '18:00' },
  ]),
  holidays: ['2025-10-01', '2025-10-02', '2025-10-03', '2025-10-06', '2025-10-07', '2025-10-08'],
  workdays: ['2025-09-28', '2025-10-11'],
};

const at = (iso: string) => new Date(iso);

describe('business time', () => {
  it('carries a Friday evening wait over the weekend to Monday morning', () => {
    // Friday 2025-06-13 17:55 in Shanghai, 10 minutes of business time: Monday 09:05.
    expect(addBusinessSeconds(shanghai, at('2025-06-13T17:55:00+08:00'), 600)?.toISOString()).toBe(at('2025-06-16T09:05:00+08:00').toISOString());
  });

  it('opens a make-up Saturday (调休) with Monday hours', () => {
    // Friday 2025-10-10 17:55; Saturday 2025-10-11 is a make-up working day.
    expect(addBusinessSeconds(shanghai, at('2025-10-10T17:55:00+08:00'), 600)?.toISOString()).toBe(at('2025-10-11T09:05:00+08:00').toISOString());
  });

  it('skips holidays (National Day week)', () => {
    // Tuesday 2025-09-30 17:50 with 20 minutes: 10 today, the rest on Thursday 2025-10-09.
    expect(addBusinessSeconds(shanghai, at('2025-09-30T17:50:00+08:00'), 1200)?.toISOString()).toBe(at('2025-10-09T09:10:00+08:00').toISOString());
  });

  it('skips the lunch break and nights', () => {
    expect(addBusinessSeconds(shanghai, at('2025-06-16T11:50:00+08:00'), 1200)?.toISOString()).toBe(at('2025-06-16T13:10:00+08:00').toISOString());
    expect(addBusinessSeconds(shanghai, at('2025-06-16T23:30:00+08:00'), 60)?.toISOString()).toBe(at('2025-06-17T09:01:00+08:00').toISOString());
  });

  it('runs across midnight in a night shift', () => {
    const nights: BusinessCalendar = {
      timeZone: 'Asia/Shanghai',
      hours: Object.fromEntries(['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ from: '00:00', to: '02:00' }, { from: '22:00', to: '24:00' }]])),
      holidays: [],
      workdays: [],
    };
    expect(addBusinessSeconds(nights, at('2025-06-16T23:30:00+08:00'), 3600)?.toISOString()).toBe(at('2025-06-17T00:30:00+08:00').toISOString());
  });

  it('counts business hours across a daylight-saving change (Europe/London)', () => {
    const london: BusinessCalendar = { timeZone: 'Europe/London', hours: weekdays([{ from: '09:00', to: '17:00' }]), holidays: [], workdays: [] };
    // Friday 2025-03-28 16:30 GMT, clocks go forward on Sunday 30th; 1 hour: Monday 09:30 BST = 08:30Z.
    expect(addBusinessSeconds(london, at('2025-03-28T16:30:00Z'), 3600)?.toISOString()).toBe('2025-03-31T08:30:00.000Z');
    expect(businessSecondsBetween(london, at('2025-03-28T16:30:00Z'), at('2025-03-31T08:30:00Z'))).toBe(3600);
  });

  it('runs around the clock without a calendar', () => {
    expect(addBusinessSeconds(null, at('2025-06-14T10:00:00Z'), 90)?.toISOString()).toBe('2025-06-14T10:01:30.000Z');
  });

  it('answers null when the calendar never opens', () => {
    expect(addBusinessSeconds({ timeZone: 'UTC', hours: {}, holidays: [], workdays: [] }, at('2025-06-14T10:00:00Z'), 60)).toBeNull();
  });

  // Property: the due time equals a minute-by-minute walk of open minutes, on random calendars.
  it.each(['Asia/Shanghai', 'America/New_York'])('agrees with a minute-by-minute walk on random calendars in %s', (timeZone) => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 25; round++) {
      const hours: BusinessCalendar['hours'] = {};
      for (let d = 1; d <= 7; d++) {
        if (random() < 0.3) continue;
        const a = 6 * 60 + Math.floor(random() * 6) * 30;
        const b = a + 60 + Math.floor(random() * 6) * 30;
        const c = b + 30 + Math.floor(random() * 4) * 30;
        const e = Math.min(24 * 60, c + 60 + Math.floor(random() * 8) * 30);
        const clock = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
        hours[String(d)] = [{ from: clock(a), to: clock(b) }, { from: clock(c), to: clock(e) }];
      }
      if (!hours['1']) hours['1'] = [{ from: '09:00', to: '17:00' }];
      // Around the US spring-forward change (2025-03-09) and Chinese holidays.
      const base = Date.parse('2025-03-06T00:00:00Z');
      const days = (n: number) => new Date(base + n * 86_400_000).toISOString().slice(0, 10);
      const calendar: BusinessCalendar = {
        timeZone,
        hours,
        holidays: [days(Math.floor(random() * 7)), days(Math.floor(random() * 7))],
        workdays: [days(Math.floor(random() * 7))],
      };
      const start = base + Math.floor(random() * 5 * 24 * 60) * 60_000;
      const minutes = 1 + Math.floor(random() * 900);
      let walked = start;
      for (let left = minutes; left > 0; walked += 60_000) if (isOpenAt(calendar, walked)) left--;
      // The walk stops after the last counted minute; the due time is its end.
      let expected = walked;
      while (!isOpenAt(calendar, expected - 60_000)) expected -= 60_000;
      expect(addBusinessSeconds(calendar, new Date(start), minutes * 60)?.getTime(), `round ${round}`).toBe(expected);
    }
  });
});
