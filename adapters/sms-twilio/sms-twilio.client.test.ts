import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './sms-twilio.client.js';
import { isTwilioMediaCdn } from './sms-twilio.media.js';

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and nothing from garbage', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(['0'])).toBe(0);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(inTenSeconds)).toBeGreaterThan(8_000);
    expect(parseRetryAfter(inTenSeconds)).toBeLessThanOrEqual(10_000);
    expect(parseRetryAfter(new Date(Date.now() - 60_000).toUTCString())).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe("Twilio's media CDN", () => {
  it.each([
    'https://media.twiliocdn.com/AC123/abc',
    'https://mms.twiliocdn.com/AC123/abc',
    'https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC123/abc?X-Amz-Signature=1',
  ])('accepts %s', (url) => {
    expect(isTwilioMediaCdn(new URL(url))).toBe(true);
  });

  it.each([
    'http://media.twiliocdn.com/AC123/abc',
    'https://twiliocdn.com.evil.example/x',
    'https://eviltwiliocdn.com/x',
    'https://s3-external-1.amazonaws.com/attacker-bucket/x',
    'https://169.254.169.254/latest/meta-data/',
  ])('refuses %s', (url) => {
    expect(isTwilioMediaCdn(new URL(url))).toBe(false);
  });
});
