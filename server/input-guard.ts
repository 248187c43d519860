import type { RequestHandler } from 'express';
import { assertSafeInput } from '../core/validation.js';

/**
 * Every JSON body and query string the API and the app API take goes through here once parsed:
 * a control character or absurd nesting is a 400 naming the field, before any handler or the
 * database sees it.
 */
export const rejectUnsafeInput: RequestHandler = (req, _res, next) => {
  assertSafeInput(req.query, 'query');
  if (req.body !== undefined) assertSafeInput(req.body, 'body');
  next();
};
