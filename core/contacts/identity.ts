import type { IdentityKind } from '../db/schema.js';

export class IdentityValueError extends Error {
  override name = 'IdentityValueError';
}

/**
 * Brings an identity value to the one form it is stored and matched in, so "+86 138-0013-8000",
 * "13800138000" and "008613800138000" are the same phone.
 */
export function normalizeIdentityValue(kind: IdentityKind, raw: string): string {
  const value = raw.trim();
  if (!value) throw new IdentityValueError(`${kind} must not be empty`);
  switch (kind) {
    case 'phone':
      return normalizePhone(value);
    case 'email': {
      const email = value.toLowerCase();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new IdentityValueError(`"${raw}" is not an email address`);
      return email;
    }
    default:
      if (value.length > 256) throw new IdentityValueError(`${kind} is longer than 256 characters`);
      return value;
  }
}

function normalizePhone(raw: string): string {
  let digits = raw.replace(/[\s\-().]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  // A mainland Chinese mobile number written without a country code.
  if (/^1[3-9]\d{9}$/.test(digits)) digits = `+86${digits}`;
  if (!/^\+[1-9]\d{6,14}$/.test(digits)) {
    throw new IdentityValueError(`"${raw}" is not a phone number in international form (E.164)`);
  }
  return digits;
}
