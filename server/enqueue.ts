import type { Runtime } from './runtime.js';

/**
 * The row is already committed, so a Redis hiccup must not fail the request: the sweeper
 * enqueues whatever was left behind after its grace period.
 */
export async function enqueueOrLeaveToSweeper(runtime: Runtime, enqueue: () => Promise<void>): Promise<void> {
  try {
    await Promise.race([
      enqueue(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('enqueue timed out')), 2_000).unref()),
    ]);
  } catch (error) {
    runtime.logger.warn({ error: (error as Error).message }, 'enqueue failed; the sweeper will pick it up');
  }
}
