/**
 * Masking of sensitive values inside free text, applied on the way out (API answers, socket
 * frames, push previews), never to what is stored or sent to the customer.
 *
 * - Bank card numbers: 13 to 19 digits, optionally grouped by single spaces or dashes, that pass
 *   the Luhn check. The first 6 (the issuer) and last 4 digits stay, as JR/T 0171-2020 asks;
 *   separators stay where they were. Digit runs that fail Luhn (order numbers, amounts) are left.
 * - Chinese resident ID numbers (GB 11643): 17 digits and a check character (digit or X) whose
 *   ISO 7064 MOD 11-2 checksum is right. The first 3 and last 4 characters stay (110***********1239),
 *   the common practice of Chinese banks' apps: the birth date and the region are hidden.
 * - Phone numbers (optional): mainland mobiles (1[3-9]x xxxx xxxx, optionally +86) keep the first
 *   3 and last 4 digits; other international numbers (+ and 8 to 15 digits) their prefix and last 4.
 * - Emails (optional): the first character of the local part and the domain stay (l***@example.cn).
 */
export interface MaskingOptions {
  phones: boolean;
  emails: boolean;
}

const mask = '*';

export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheckCharacters = '10X98765432';

export function isResidentIdNumber(value: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (value.charCodeAt(i) - 48) * idWeights[i]!;
  return idCheckCharacters[sum % 11] === value[17]!.toUpperCase();
}

/** Replaces the digits of `run` from the `keepFirst`-th to the one `keepLast` before the end, separators kept. */
function maskDigits(run: string, keepFirst: number, keepLast: number): string {
  const total = (run.match(/[\dXx]/g) ?? []).length;
  let seen = 0;
  let out = '';
  for (const ch of run) {
    if (/[\dXx]/.test(ch)) {
      out += seen >= keepFirst && seen < total - keepLast ? mask : ch;
      seen++;
    } else out += ch;
  }
  return out;
}

// Digit runs not touching other digits or letters; single spaces or dashes may group them.
const resident = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;
const cardLike = /(?<![\d+])\d(?:[ -]?\d){12,18}(?![\d])/g;
const mainlandMobile = /(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)/g;
const internationalPhone = /(?<![\d+])\+\d(?:[ -]?\d){7,14}(?!\d)/g;
const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

export function maskSensitiveText(text: string, options: MaskingOptions = { phones: true, emails: true }): string {
  let out = text.replace(resident, (id) => (isResidentIdNumber(id) ? maskDigits(id, 3, 4) : id));
  out = out.replace(cardLike, (run) => {
    const digits = run.replace(/\D/g, '');
    if (digits.length < 13 || digits.length > 19 || !passesLuhn(digits)) return run;
    return maskDigits(run, 6, 4);
  });
  if (options.phones) {
    out = out.replace(mainlandMobile, (phone) => {
      const national = phone.replace(/^\+?86[ -]?/, '');
      return phone.slice(0, phone.length - national.length) + maskDigits(national, 3, 4);
    });
    out = out.replace(internationalPhone, (phone) => maskDigits(phone, Math.min(4, phone.replace(/\D/g, '').length - 6), 4));
  }
  if (options.emails) {
    out = out.replace(email, (address) => {
      const at = address.indexOf('@');
      return `${address[0]}***${address.slice(at)}`;
    });
  }
  return out;
}

/** Whether masking would change the text (the answer then says so, and a reveal has something to show). */
export function hasSensitiveValues(text: string, options: MaskingOptions): boolean {
  return maskSensitiveText(text, options) !== text;
}

/**
 * An identity's value for a user who may know a customer exists but not how to reach them
 * (marketers): a phone or email masked as in text, any other value (openid, app user id, bank
 * customer number) down to its first and last two characters.
 */
export function maskIdentityValue(kind: string, value: string): string {
  if (kind === 'phone' || kind === 'email') {
    const masked = maskSensitiveText(value);
    if (masked !== value) return masked;
  }
  const chars = [...value];
  return chars.length > 6 ? `${chars.slice(0, 2).join('')}***${chars.slice(-2).join('')}` : '***';
}
