/** An error a caller can cause and fix; the HTTP layer answers it with its status and message. */
export class HubError extends Error {
  override name = 'HubError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new HubError(404, 'not_found', `${what} ${id} not found`);
export const badRequest = (message: string, details?: unknown) => new HubError(400, 'bad_request', message, details);
export const conflict = (message: string, details?: unknown) => new HubError(409, 'conflict', message, details);
