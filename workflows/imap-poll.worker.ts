import type { Logger } from 'pino';
import { findImapChannelIds, pollImapMailbox } from '../adapters/email/imap-poller.js';
import type { EmailChannelConfig } from '../adapters/email/email.config.js';
import type { LoadedChannel } from '../core/channels/channel-service.js';
import type { AcceptedEvent, ChannelContext } from '../core/channels/contract.js';
import type { Db } from '../core/db/client.js';

export interface ImapPollDeps {
  db: Db;
  logger: Logger;
  loadChannel(id: string): Promise<LoadedChannel | undefined>;
  accept(channelId: string, events: AcceptedEvent[]): Promise<void>;
  /** How often to look for channels that are due; each channel has its own poll interval. */
  tickMs: number;
}

/**
 * Polls the mailboxes of email channels that have IMAP configured. Every worker process runs
 * this loop; a per-channel lock and the last poll time in the channel store make one of them
 * poll each mailbox once per interval, and another take over when that process stops.
 */
export function startImapPolling(deps: ImapPollDeps) {
  const running = new Set<string>();
  let stopped = false;

  const pollChannel = async (id: string) => {
    running.add(id);
    try {
      const channel = await deps.loadChannel(id);
      if (channel?.row.type !== 'email') return;
      const imported = await pollImapMailbox(channel.context as ChannelContext<EmailChannelConfig>, (events) => deps.accept(id, events));
      if (imported) deps.logger.info({ channelId: id, imported }, 'imported mail over IMAP');
    } catch (error) {
      deps.logger.warn({ channelId: id, error: (error as Error).message }, 'IMAP poll failed; retrying at the next interval');
    } finally {
      running.delete(id);
    }
  };

  const tick = async () => {
    try {
      for (const id of await findImapChannelIds(deps.db)) {
        if (!running.has(id) && !stopped) void pollChannel(id);
      }
    } catch (error) {
      deps.logger.warn({ error: (error as Error).message }, 'listing IMAP channels failed');
    }
  };
  const timer = setInterval(() => void tick(), deps.tickMs);
  void tick();

  return {
    /** Stops starting polls and waits, at most `timeoutMs`, for running ones. */
    async close(timeoutMs: number) {
      stopped = true;
      clearInterval(timer);
      const deadline = Date.now() + timeoutMs;
      while (running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
  };
}
