import { describe, expect, it } from 'vitest';
import { IdentityValueError, normalizeIdentityValue } from './identity.js';

describe('identity normalization', () => {
  it.each([
    ['13800138000', '+8613800138000'],
    ['138 0013 8000', '+8613800138000'],
    ['+86 138-0013-8000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    ['+1 (415) 555-0100', '+14155550100'],
  ])('phone %s → %s', (raw, normalized) => {
    expect(normalizeIdentityValue('phone', raw)).toBe(normalized);
  });

  it('rejects what is not a phone number', () => {
    expect(() => normalizeIdentityValue('phone', '12345')).toThrow(IdentityValueError);
    expect(() => normalizeIdentityValue('phone', 'call me')).toThrow(/E\.164/);
  });

  it('lower-cases and trims email addresses', () => {
    expect(normalizeIdentityValue('email', '  Wang.XM@Bank.Example ')).toBe('wang.xm@bank.example');
    expect(() => normalizeIdentityValue('email', 'not-an-email')).toThrow(IdentityValueError);
  });

  it('keeps opaque ids as they are, trimmed', () => {
    expect(normalizeIdentityValue('wechat_openid', ' oUpF8uMuAJO_M2pxb1Q9zNjWeS6o ')).toBe('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
    expect(() => normalizeIdentityValue('external_id', '   ')).toThrow(/empty/);
  });
});
