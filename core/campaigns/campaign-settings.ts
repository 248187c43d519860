import { z } from 'zod';

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};
const timeZone = z.string().max(64).refine(isTimeZone, 'expected an IANA time zone such as Asia/Shanghai');
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time as HH:MM');

/** Five or six cron fields of digits and `* , - / ?` and names (MON, JAN); BullMQ parses the rest when scheduling. */
const cron = z
  .string()
  .trim()
  .max(100)
  .regex(/^([\d*,\-/?LW#A-Za-z]+\s+){4,5}[\d*,\-/?LW#A-Za-z]+$/, 'expected a cron expression such as "0 9 * * *"');

export const campaignSettings = z
  .object({
    /** One-off: when to send; absent sends at start. */
    scheduledAt: z.iso.datetime({ offset: true }).optional(),
    /** Recurring: when each run starts, in `timeZone`. */
    cron: cron.optional(),
    /** The time zone of the cron, and of quiet hours for contacts who have none. */
    timeZone: timeZone.default('Asia/Shanghai'),
    /** Marketing waits out these hours in the contact's time zone (deferred, not dropped); null sends any time. */
    quietHours: z.object({ start: clockTime, end: clockTime }).strict().nullable().default({ start: '21:00', end: '08:00' }),
    /** At most `max` marketing messages per contact in `days` days, counting every campaign and agents' offers. */
    frequencyCap: z
      .object({ max: z.number().int().min(1).max(100), days: z.number().int().min(1).max(90) })
      .strict()
      .nullable()
      .default({ max: 2, days: 7 }),
    /** Messages per second this campaign hands to the channel, shared with every campaign on it. */
    ratePerSecond: z.number().min(0.01).max(1_000).default(10),
  })
  .strict();
export type CampaignSettings = z.infer<typeof campaignSettings>;

/**
 * When quiet hours end if `now` falls inside them in `zone`, else undefined. The window may cross
 * midnight (21:00–08:00). Worked out on the wall clock, so a DST change shifts it by that hour.
 */
export function quietHoursEnd(now: Date, zone: string, quiet: { start: string; end: string }): Date | undefined {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const seconds = Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second);
  const toSeconds = (hhmm: string) => Number(hhmm.slice(0, 2)) * 3600 + Number(hhmm.slice(3, 5)) * 60;
  const start = toSeconds(quiet.start);
  const end = toSeconds(quiet.end);
  if (start === end) return undefined;
  const inside = start < end ? seconds >= start && seconds < end : seconds >= start || seconds < end;
  if (!inside) return undefined;
  const wait = (end - seconds + 86_400) % 86_400;
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + wait * 1000);
}

/** A contact's time zone when it names a real one, else the campaign's. */
export function zoneFor(contactZone: string | null, fallback: string): string {
  return contactZone && isTimeZone(contactZone) ? contactZone : fallback;
}
