import type { WidgetDeps } from '../adapters/webchat/visitor-session.js';
import { eventsChannel } from '../workflows/events.js';
import { enqueueOrLeaveToSweeper } from './enqueue.js';
import type { Runtime } from './runtime.js';

/** What the web chat widget's socket and HTTP endpoints use of a hub process. */
export function widgetDeps(runtime: Runtime): WidgetDeps {
  return {
    db: runtime.database.db,
    redis: runtime.redis,
    prefix: runtime.config.REDIS_PREFIX,
    loadChannel: (id) => runtime.channels.get(id),
    enqueueInbound: (ids) => enqueueOrLeaveToSweeper(runtime, () => runtime.queues.enqueueInbound(ids)),
    eventsTopic: eventsChannel(runtime.config.REDIS_PREFIX),
  };
}
