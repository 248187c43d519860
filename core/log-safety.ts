import { DrizzleQueryError } from 'drizzle-orm';
// The same recognisers the API's masking uses; logs replace what they find with a placeholder.
import { isResidentIdNumber, passesLuhn } from './security/masking.js';

/*
 * What an error may say in a log line or a stored error column. Logs carry ids, never message
 * text, contact data, query parameters or secrets: a failed query is described by the first
 * words of its statement and how many parameters it had, and the database's own message is cut
 * before any value it quotes. As a last line of defence, anything that still looks like a card
 * number, a resident ID number, a phone number or an email address is masked.
 */

const cardLike = /(?<![\dA-Za-z])(?:\d[ -]?){12,18}\d(?![\dA-Za-z])/g;
const idLike = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;
const emailLike = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
// Mainland mobiles and E.164 numbers.
const phoneLike = /(?<![\dA-Za-z])(?:\+\d{8,15}|1[3-9]\d{9})(?![\dA-Za-z])/g;

/** Masks what must not reach a log, in text that is otherwise kept (error messages). */
export function maskSensitiveText(text: string): string {
  return text
    .replace(idLike, (match) => (isResidentIdNumber(match) ? '[id number]' : match))
    .replace(cardLike, (match) => {
      const digits = match.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && passesLuhn(digits) ? '[card number]' : match;
    })
    .replace(phoneLike, '[phone]')
    .replace(emailLike, '[email]');
}

/** drizzle's message is `Failed query: <sql>\nparams: <values>`; everything from `params:` on goes. */
function withoutParameters(text: string): string {
  const at = text.search(/\n?params: /);
  return at < 0 ? text : `${text.slice(0, at)} [parameters not logged]`;
}

/** The first words of a statement, enough to recognize it (`insert into "messages" (…`). */
export function statementHead(statement: string): string {
  const words = statement.replace(/\s+/g, ' ').trim().split(' ');
  const head = words.slice(0, 6).join(' ');
  return words.length > 6 || head.length > 80 ? `${head.slice(0, 80)} …` : head;
}

/** A database error's message without the value it may quote at the end (`invalid input syntax for type uuid: "…"`). */
function databaseMessage(message: string): string {
  return message.replace(/: ".*"$/s, ': "…"').replace(/: '.*'$/s, ": '…'");
}

interface DatabaseFields {
  code?: unknown;
  severity?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
  table?: unknown;
  table_name?: unknown;
  column?: unknown;
  column_name?: unknown;
  routine?: unknown;
}

const isErrorLike = (value: unknown): value is Error & Record<string, unknown> =>
  typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';

/**
 * A log-safe description of an error: its type and message; for a failed query the statement's
 * first words, the number of parameters and the database's code, constraint, table and column
 * (never `detail`, `where` or the parameters, which carry values).
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!isErrorLike(error)) return { message: maskSensitiveText(withoutParameters(String(error))) };
  if (error instanceof DrizzleQueryError || (typeof error.query === 'string' && Array.isArray(error.params))) {
    const query = error as unknown as { query: string; params: unknown[]; cause?: unknown };
    const cause = query.cause;
    const db = (isErrorLike(cause) ? cause : {}) as DatabaseFields & { message?: string };
    return pruned({
      type: 'DrizzleQueryError',
      message: `query failed: ${isErrorLike(cause) ? maskSensitiveText(databaseMessage(cause.message)) : 'no cause given'}`,
      statement: statementHead(query.query),
      parameterCount: query.params.length,
      code: db.code,
      severity: db.severity,
      constraint: db.constraint ?? db.constraint_name,
      table: db.table ?? db.table_name,
      column: db.column ?? db.column_name,
      routine: db.routine,
      stack: stackFrames(error.stack),
    });
  }
  const fields = error as DatabaseFields;
  const isDatabaseError = typeof fields.severity === 'string' && typeof fields.code === 'string';
  const message = isDatabaseError ? databaseMessage(error.message) : withoutParameters(error.message);
  return pruned({
    type: error.name,
    message: maskSensitiveText(message),
    code: typeof fields.code === 'string' || typeof fields.code === 'number' ? fields.code : undefined,
    ...(isDatabaseError ? { constraint: fields.constraint ?? fields.constraint_name, table: fields.table ?? fields.table_name, column: fields.column ?? fields.column_name } : {}),
    ...(isErrorLike(error.cause) ? { cause: serializeError(error.cause) } : {}),
    stack: stackFrames(error.stack),
  });
}

/** One line for an error, as safe as `serializeError`: for error columns and `{ error: … }` log fields. */
export function describeError(error: unknown): string {
  const described = serializeError(error);
  const parts = [String(described.message)];
  if (described.statement) parts.push(`(statement: ${described.statement}; ${described.parameterCount} parameters${described.code ? `; code ${described.code}` : ''})`);
  return parts.join(' ');
}

/** Text that may be an error's message (log fields named `error`): its parameters and sensitive values removed. */
export function scrubErrorText(text: string): string {
  return maskSensitiveText(withoutParameters(text));
}

/** The stack's frames only: its first line repeats the message, which may hold what is masked above. */
function stackFrames(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return frames.length ? frames.join('\n') : undefined;
}

function pruned(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}
