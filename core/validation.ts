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
