import type { AddressInfo } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { AcceptedEvent } from '../../core/channels/contract.js';
import type { Db } from '../../core/db/client.js';
import { channels } from '../../core/db/schema.js';
import { mailDedupeKey, toStoredMail } from './inbound-mail.js';
import { baseAddress } from './reply-token.js';

export interface SmtpListenerDeps {
  db: Db;
  logger: Logger;
  /** Commits accepted mail to the inbound path; the SMTP client is answered 250 only after it resolves. */
  accept(channelId: string, events: AcceptedEvent[]): Promise<void>;
  maxBytes: number;
}

/** An SMTP error reply: smtp-server answers with the error's message and `responseCode`. */
const smtpError = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

/** The enabled email channel whose configured address is this one (a +tag is ignored). */
async function findChannelFor(db: Db, recipient: string): Promise<string | undefined> {
  const [row] = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.type, 'email'), eq(channels.enabled, true), sql`${channels.config}->>'address' = ${baseAddress(recipient)}`))
    .limit(1);
  return row?.id;
}

/**
 * The hub's own mail exchanger: it takes mail for the addresses of its email channels only
 * (550 for any other), up to `maxBytes` (552 beyond), and answers 250 once the mail is stored.
 * Meant to sit behind the bank's MX or a relay, which handles TLS and spam filtering.
 */
export async function startSmtpListener(deps: SmtpListenerDeps, listen: { port: number; host: string }) {
  const { db, logger } = deps;
  const server = new SMTPServer({
    name: 'hub',
    banner: 'hub mail intake',
    size: deps.maxBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    // At shutdown, open sessions get this long before they are cut; a cut sender retries later.
    closeTimeout: 5_000,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      findChannelFor(db, address.address)
        .then((channelId) => callback(channelId ? null : smtpError(550, `5.1.1 <${address.address}>: no such mailbox here`)))
        .catch((error: Error) => {
          logger.error({ error: error.message }, 'smtp: recipient lookup failed');
          callback(smtpError(451, '4.3.0 temporary failure, try again later'));
        });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError(552, `5.3.4 message exceeds the size limit of ${deps.maxBytes} bytes`));
          return;
        }
        store(Buffer.concat(chunks), session.envelope.rcptTo.map((r) => r.address))
          .then(() => callback(null))
          .catch((error: Error) => {
            logger.error({ error: error.message }, 'smtp: storing a mail failed');
            callback(smtpError(451, '4.3.0 temporary failure, try again later'));
          });
      });
    },
  });
  server.on('error', (error) => logger.warn({ error: error.message }, 'smtp listener error'));

  async function store(raw: Buffer, recipients: string[]): Promise<void> {
    const byChannel = new Map<string, string[]>();
    for (const recipient of recipients) {
      const channelId = await findChannelFor(db, recipient);
      if (channelId) byChannel.set(channelId, [...(byChannel.get(channelId) ?? []), recipient.toLowerCase()]);
    }
    const { key } = mailDedupeKey(raw);
    for (const [channelId, addressed] of byChannel) {
      await deps.accept(channelId, [{ dedupeKey: key, payload: toStoredMail(raw, 'smtp', addressed) }]);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
