import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { describeZodError } from '../../core/validation.js';
import { isOnDuty, webchatChannelConfig } from './webchat.config.js';
import { buildWidgetScript } from './widget-http.js';

const config = (extra: Record<string, unknown> = {}) => webchatChannelConfig.parse({ allowedOrigins: ['https://www.bank.example/help'], ...extra });

describe('web chat channel config', () => {
  it('keeps only the origin of each allowed page and requires the list to be given', () => {
    expect(config().allowedOrigins).toEqual(['https://www.bank.example']);
    const missing = webchatChannelConfig.safeParse({});
    expect(missing.success).toBe(false);
    expect(describeZodError(missing.error!)).toMatch(/allowedOrigins/);
    const empty = webchatChannelConfig.safeParse({ allowedOrigins: [] });
    expect(describeZodError(empty.error!)).toMatch(/\["\*"\] for any/);
  });

  it('refuses a short identity secret, an unknown time zone and a malformed time, naming the field', () => {
    const bad = webchatChannelConfig.safeParse({
      allowedOrigins: ['*'],
      identitySecret: 'short',
      serviceHours: { timeZone: 'Mars/Olympus', open: '9am', close: '18:00' },
    });
    const message = describeZodError(bad.error!);
    expect(message).toMatch(/identitySecret: identitySecret must be at least 32 characters/);
    expect(message).toMatch(/serviceHours.timeZone: unknown time zone/);
    expect(message).toMatch(/serviceHours.open: expected a time as HH:MM/);
  });
});

describe('service hours', () => {
  const shanghai = config({ serviceHours: { timeZone: 'Asia/Shanghai', open: '09:00', close: '18:00' } });

  it('is on duty inside the hours of a weekday in the channel time zone', () => {
    // Monday 2026-11-23 10:30 in Shanghai is 02:30 UTC.
    expect(isOnDuty(shanghai, new Date('2026-11-23T02:30:00Z'))).toBe(true);
    // 18:00 Shanghai: closed.
    expect(isOnDuty(shanghai, new Date('2026-11-23T10:00:00Z'))).toBe(false);
    // Saturday noon: closed.
    expect(isOnDuty(shanghai, new Date('2026-11-21T04:00:00Z'))).toBe(false);
  });

  it('is always on duty without service hours', () => {
    expect(isOnDuty(config(), new Date('2026-11-21T20:00:00Z'))).toBe(true);
  });
});

describe('widget bundle', () => {
  it('builds from its sources and stays under 40 KB gzipped', async () => {
    const script = await buildWidgetScript();
    expect(script).toContain('attachShadow');
    expect(gzipSync(script).length).toBeLessThan(40 * 1024);
  });
});
