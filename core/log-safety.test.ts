import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { describeError, maskSensitiveText, serializeError } from './log-safety.js';
import { isResidentIdNumber, passesLuhn as isLuhnValid } from './security/masking.js';

describe('log safety', () => {
  it('recognizes card and resident ID numbers', () => {
    expect(isLuhnValid('6222021234567894')).toBe(true);
    expect(isLuhnValid('6222021234567895')).toBe(false);
    expect(isResidentIdNumber('110105199003071239')).toBe(true);
    expect(isResidentIdNumber('110105199003071238')).toBe(false);
  });

  it('masks what looks like card, ID and phone numbers and email addresses, and keeps the rest', () => {
    expect(maskSensitiveText('card 6222 0212 3456 7894, id 110105199003071239, phone 13800138000, mail li@bank.example, job 42')).toBe(
      'card [card number], id [id number], phone [phone], mail [email], job 42',
    );
    expect(maskSensitiveText('conversation 0b6c0e1e-6f2a-4d8e-9a7e-3f1b2c4d5e6f')).toBe('conversation 0b6c0e1e-6f2a-4d8e-9a7e-3f1b2c4d5e6f');
  });

  it('describes a failed query by its statement and parameter count, never its parameters or quoted values', () => {
    const cause = Object.assign(new Error('invalid input syntax for type uuid: "6222021234567894"'), { code: '22P02', severity: 'ERROR' });
    const error = new DrizzleQueryError('insert into "messages" ("id", "text") values ($1, $2)', ['x', '卡号 6222021234567894'], cause);
    const serialized = serializeError(error);
    expect(serialized).toMatchObject({
      type: 'DrizzleQueryError',
      message: 'query failed: invalid input syntax for type uuid: "…"',
      statement: 'insert into "messages" ("id", "text") values …',
      parameterCount: 2,
      code: '22P02',
    });
    const text = JSON.stringify(serialized);
    expect(text).not.toContain('6222021234567894');
    expect(text).not.toContain('卡号');
    expect(describeError(error)).toBe('query failed: invalid input syntax for type uuid: "…" (statement: insert into "messages" ("id", "text") values …; 2 parameters; code 22P02)');
    // The message drizzle builds, passed on as text, loses its parameters too.
    expect(describeError(new Error(error.message))).not.toContain('卡号');
  });
});
