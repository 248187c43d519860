import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isResidentIdNumber, maskSensitiveText, passesLuhn } from './masking.js';

/** Appends the Luhn check digit to a body of digits. */
function withLuhnDigit(body: string): string {
  for (let d = 0; d < 10; d++) if (passesLuhn(body + d)) return body + d;
  throw new Error('unreachable');
}

const digitString = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((ds) => ds.join(''));
/** Text around a number that does not run into it (no digits, letters or separators at its edges). */
const surrounding = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\dA-Za-z+\- *]/g, '。'));
const grouped = (digits: string, separator: string, every: number) =>
  separator ? digits.replace(new RegExp(`(\\d{${every}})(?=\\d)`, 'g'), `$1${separator}`) : digits;

describe('masking', () => {
  it('masks the examples of issue 12: a card number and a resident ID number', () => {
    expect(maskSensitiveText('卡号 6222021234567894，身份证 110105199003071239', { phones: false, emails: false })).toBe(
      '卡号 622202******7894，身份证 110***********1239',
    );
  });

  it('keeps separators, the first 6 and last 4 card digits', () => {
    expect(maskSensitiveText('card 4111 1111 1111 1111 ok', { phones: false, emails: false })).toBe('card 4111 11** **** 1111 ok');
    expect(maskSensitiveText('6222-0212-3456-7894', { phones: false, emails: false })).toBe('6222-02**-****-7894');
  });

  it('checks the resident ID checksum, X included', () => {
    expect(isResidentIdNumber('110105199003071239')).toBe(true);
    expect(isResidentIdNumber('110105199003071238')).toBe(false);
    expect(isResidentIdNumber('11010519491231002X')).toBe(true);
    expect(maskSensitiveText('ID 11010519491231002x', { phones: false, emails: false })).toBe('ID 110***********002x');
  });

  it('masks phones and emails only when asked', () => {
    const text = '请打 13812345678 或 +86 138 1234 5678，或写信 li.na@example.cn，国外 +44 20 7946 0958';
    expect(maskSensitiveText(text, { phones: false, emails: false })).toBe(text);
    expect(maskSensitiveText(text, { phones: true, emails: true })).toBe(
      '请打 138****5678 或 +86 138 **** 5678，或写信 l***@example.cn，国外 +44 20 **** 0958',
    );
  });

  it('masks any Luhn-valid number of 13 to 19 digits embedded in text, grouped or not', () => {
    fc.assert(
      fc.property(
        digitString(12, 18),
        surrounding,
        surrounding,
        fc.constantFrom('', ' ', '-'),
        fc.constantFrom(4, 5, 6),
        fc.boolean(),
        (body, before, after, separator, every, phones) => {
          const card = withLuhnDigit(body);
          const written = grouped(card, separator, every);
          const masked = maskSensitiveText(`${before}${written}${after}`, { phones, emails: true });
          const digitsLeft = masked.replace(/[^\d*]/g, '');
          expect(masked).not.toContain(written);
          // An 18-digit number that is also a valid resident ID number is masked as one (first 3, last 4).
          const [first, last] = !separator && card.length === 18 && isResidentIdNumber(card) ? [3, 4] : [6, 4];
          expect(digitsLeft).toBe(card.slice(0, first) + '*'.repeat(card.length - first - last) + card.slice(-last));
          expect(masked.startsWith(before) && masked.endsWith(after)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves digit runs that are not card, ID or phone numbers alone (order numbers, amounts)', () => {
    fc.assert(
      fc.property(digitString(4, 30), surrounding, surrounding, (digits, before, after) => {
        fc.pre(digits.length < 13 || digits.length > 19 || !passesLuhn(digits));
        fc.pre(!(digits.length === 18 && isResidentIdNumber(digits)));
        const text = `${before}订单号${digits}${after}`;
        expect(maskSensitiveText(text, { phones: false, emails: false })).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
