import type { z } from 'zod';
import { badRequest } from './errors.js';

/** One readable line per problem, e.g. `from.kind: Invalid option: expected one of "phone"|"email"`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Parses input or throws a 400 that tells the caller exactly what is wrong. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(`invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}

/**
 * Control characters other than tab, line feed and carriage return mean nothing in a message, a
 * name or a filter, and PostgreSQL refuses NUL in text and jsonb outright; lone UTF-16 surrogates
 * cannot be stored in jsonb either.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const unsafeCharacter = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** How deep any JSON the hub is given may nest; nothing it accepts needs half of it. */
export const maxInputDepth = 16;

export interface UnsafeInput {
  /** Where, e.g. `body.from.name`, `query.tag`. */
  path: string;
  problem: string;
}

const describeKey = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key.slice(0, 40))}]`);

/**
 * The first thing in parsed input that must not be stored: a control character in a string or a
 * key, or nesting deeper than `maxDepth` (an object or array at the top counts as depth 1).
 * Iterative, so an input nested many thousands deep cannot exhaust the stack.
 */
export function findUnsafeInput(value: unknown, root: string, maxDepth = maxInputDepth): UnsafeInput | undefined {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: root, depth: 0 }];
  while (pending.length) {
    const { value: current, path, depth } = pending.pop()!;
    if (typeof current === 'string') {
      if (unsafeCharacter.test(current)) return { path, problem: 'contains a control character or an unpaired surrogate' };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return { path, problem: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push({ value: item, path: `${path}[${index}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (unsafeCharacter.test(key)) return { path: `${path}${describeKey(key.replace(new RegExp(unsafeCharacter, 'g'), '?'))}`, problem: 'has a key with a control character' };
      pending.push({ value: item, path: `${path}${describeKey(key)}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Throws a 400 naming the field when `findUnsafeInput` finds something. */
export function assertSafeInput(value: unknown, root: string, maxDepth = maxInputDepth): void {
  const unsafe = findUnsafeInput(value, root, maxDepth);
  if (unsafe) throw badRequest(`invalid ${root}: ${unsafe.path} ${unsafe.problem}`, { field: unsafe.path });
}

/** Free text from a provider, which cannot be sent back to fix: unsafe characters are dropped. */
export function stripUnsafeCharacters(text: string): string {
  return unsafeCharacter.test(text) ? text.replace(new RegExp(unsafeCharacter, 'g'), '') : text;
}

/** `stripUnsafeCharacters` applied to every string and key of a parsed JSON value. */
export function stripUnsafeJson<T>(value: T): T {
  if (typeof value === 'string') return stripUnsafeCharacters(value) as T;
  if (Array.isArray(value)) return value.map((item) => stripUnsafeJson(item)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripUnsafeCharacters(k), stripUnsafeJson(v)])) as T;
  }
  return value;
}

/** How deeply a JSON value nests (a scalar is 0, `{}` is 1), counting no further than `cap + 1`. */
export function jsonDepth(value: unknown, cap = maxInputDepth): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > cap) return deepest;
    for (const item of Array.isArray(current) ? current : Object.values(current)) pending.push([item, depth + 1]);
  }
  return deepest;
}
