import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the hub knows of the HTTP request a use case runs for, without every use case taking it
 * as a parameter: the audit log records the client's address with each entry a request caused.
 * The HTTP layer opens the context; anything outside a request (workers, the CLI) sees none.
 */
export interface RequestContext {
  /** The client's address as the HTTP layer determined it (behind a trusted proxy, the forwarded one). */
  ip: string | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(context: RequestContext, run: () => T): T {
  return storage.run(context, run);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
