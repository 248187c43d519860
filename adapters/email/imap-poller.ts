import net from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import type { AcceptedEvent, ChannelContext } from '../../core/channels/contract.js';
import type { Db } from '../../core/db/client.js';
import { channels } from '../../core/db/schema.js';
import { resolveOutboundHost } from '../../core/security/outbound-http.js';
import type { EmailChannelConfig } from './email.config.js';
import { mailDedupeKey, toStoredMail } from './inbound-mail.js';

/** Enabled email channels that poll a mailbox. */
export async function findImapChannelIds(db: Db): Promise<string[]> {
  const rows = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.type, 'email'), eq(channels.enabled, true), sql`${channels.config}->>'imapHost' is not null`));
  return rows.map((r) => r.id);
}

const state = { uidValidity: 'imap:uidvalidity', lastUid: 'imap:last-uid', polledAt: 'imap:polled-at' } as const;

/**
 * Imports the mail that arrived in the channel's mailbox since the last poll. The mailbox's
 * UIDVALIDITY and the last imported UID are kept in the channel store, advanced only after a
 * mail is committed, so a poll cut off by a dropped connection starts where it stopped. Should
 * the server renumber the mailbox (a new UIDVALIDITY), everything is read again and the dedupe
 * keys (Message-ID + body hash) keep what was imported before from being imported twice.
 * Returns the number of mails handed to `accept`, or undefined when not due or another process
 * is polling.
 */
export async function pollImapMailbox(
  channel: ChannelContext<EmailChannelConfig>,
  accept: (events: AcceptedEvent[]) => Promise<void>,
): Promise<number | undefined> {
  const { config, store } = channel;
  if (!config.imapHost) return undefined;
  const busy = Symbol('busy');
  const result = await store
    .withLock('imap-poll', { ttlMs: 5 * 60_000, waitMs: 0 }, async () => {
      const polledAt = Number((await store.get(state.polledAt)) ?? 0);
      if (Date.now() - polledAt < config.imapPollIntervalMs) return undefined;
      await store.set(state.polledAt, String(Date.now()));
      return importNewMail(channel, accept);
    })
    .catch((error: Error) => {
      if (error.name === 'LockTimeoutError') return busy;
      throw error;
    });
  return result === busy ? undefined : (result as number | undefined);
}

async function importNewMail(channel: ChannelContext<EmailChannelConfig>, accept: (events: AcceptedEvent[]) => Promise<void>): Promise<number> {
  const { config, store } = channel;
  // The outbound guard resolves and checks the host; the client connects to that address.
  const host = config.imapHost!;
  const { address } = await resolveOutboundHost(host, { allowPrivate: channel.allowPrivateNetwork, timeoutMs: channel.sendTimeoutMs });
  const client = new ImapFlow({
    host: address,
    ...(net.isIP(host) ? {} : { servername: host }),
    port: config.imapPort,
    secure: config.imapSecure,
    auth: { user: config.imapUser!, pass: config.imapPassword! },
    logger: false,
    connectionTimeout: channel.sendTimeoutMs,
    greetingTimeout: channel.sendTimeoutMs,
    socketTimeout: 5 * 60_000,
  });
  // A dropped connection surfaces as a rejected command; the listener keeps it from crashing the process.
  client.on('error', () => {});
  await client.connect();
  try {
    const lock = await client.getMailboxLock(config.imapMailbox);
    try {
      const mailbox = client.mailbox === false ? undefined : client.mailbox;
      const uidValidity = String(mailbox?.uidValidity ?? '');
      let lastUid = 0;
      if ((await store.get(state.uidValidity)) === uidValidity) lastUid = Number((await store.get(state.lastUid)) ?? 0);
      else {
        await store.set(state.uidValidity, uidValidity);
        await store.set(state.lastUid, '0');
      }
      // Collected before any other command: commands issued inside a running FETCH never return.
      const found = await client.fetchAll(`${lastUid + 1}:*`, { uid: true, source: true }, { uid: true });
      // "n:*" also matches the highest UID when it is below n, so filter what was imported already.
      const fresh = found.filter((m) => m.uid > lastUid && m.source).sort((a, b) => a.uid - b.uid);
      for (const message of fresh) {
        const raw = message.source!;
        await accept([{ dedupeKey: mailDedupeKey(raw).key, payload: toStoredMail(raw, 'imap') }]);
        await store.set(state.lastUid, String(message.uid));
        if (config.imapAfterImport === 'move') await client.messageMove(String(message.uid), config.imapMoveTo!, { uid: true });
        else await client.messageFlagsAdd(String(message.uid), ['\\Seen'], { uid: true });
      }
      return fresh.length;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}
