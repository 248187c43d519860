import { and, eq, inArray, max } from 'drizzle-orm';
import type { LoadedChannel } from '../channels/channel-service.js';
import type { ChannelType } from '../channels/contract.js';
import { conversations, messages } from '../db/schema.js';
import { notFound } from '../errors.js';
import { listReachableChannels, type ReplyDeps } from './outbound.js';

export interface ReplyOptionsDeps extends ReplyDeps {
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
}

/**
 * The channels a reply can go out on, each with what a reply there may be now: for a channel with
 * a service window (WeChat), whether a free-form message is let through and until when, and the
 * templates that reach the customer once it has closed. Judged by the adapter's own `canReachNow`,
 * so the console shows what a send would meet.
 */
export async function listReplyOptions(deps: ReplyOptionsDeps, conversationId: string) {
  const reachable = await listReachableChannels(deps, conversationId);
  const windowed = reachable.items.filter((item) => deps.adapters[item.type as ChannelType]?.canReachNow);
  const lastInbound = new Map<string, Date | null>();
  if (windowed.length) {
    const [conversation] = await deps.db.select({ contactId: conversations.contactId }).from(conversations).where(eq(conversations.id, conversationId));
    if (!conversation) throw notFound('conversation', conversationId);
    const rows = await deps.db
      .select({ channelId: messages.channelId, at: max(messages.createdAt) })
      .from(messages)
      .where(
        and(
          eq(messages.contactId, conversation.contactId),
          inArray(
            messages.channelId,
            windowed.map((item) => item.channelId),
          ),
          eq(messages.direction, 'inbound'),
        ),
      )
      .groupBy(messages.channelId);
    for (const row of rows) lastInbound.set(row.channelId, row.at);
  }
  const now = new Date();
  const items = await Promise.all(
    reachable.items.map(async (item) => {
      const adapter = deps.adapters[item.type as ChannelType];
      if (!adapter?.canReachNow && !adapter?.listTemplates) return item;
      const extra: { window?: { open: boolean; closesAt: string | null }; templates?: Array<{ name: string; variables: string[] }> } = {};
      if (adapter.canReachNow) {
        const lastInboundAt = lastInbound.get(item.channelId) ?? null;
        const open = adapter.canReachNow({ lastInboundAt, contentKind: 'text', now }).ok;
        const closesAt = open && lastInboundAt && adapter.replyWindowMs ? new Date(lastInboundAt.getTime() + adapter.replyWindowMs).toISOString() : null;
        extra.window = { open, closesAt };
      }
      if (adapter.listTemplates) {
        const loaded = await deps.loadChannel(item.channelId);
        extra.templates = loaded ? adapter.listTemplates(loaded.context.config) : [];
      }
      return { ...item, ...extra };
    }),
  );
  return { ...reachable, items };
}
