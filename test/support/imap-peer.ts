import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';

interface Hoodiecrow {
  server: Server;
  listen(port: number, host: string, callback: () => void): void;
  close(callback: () => void): void;
}
const hoodiecrow = createRequire(import.meta.url)('hoodiecrow-imap') as (options: object) => Hoodiecrow;

export const imapLogin = { user: 'testuser', password: 'testpass' };

/**
 * A real IMAP server on loopback, holding the given mails in INBOX. Its state lives in memory:
 * starting it again on the same port is a mail server restarting with the mailbox as given.
 */
export async function startImapPeer(options: { port?: number; uidValidity: number; mails: string[] }) {
  const server = hoodiecrow({
    plugins: ['UIDPLUS', 'MOVE', 'UNSELECT', 'ENABLE', 'IDLE'],
    storage: {
      INBOX: { uidvalidity: options.uidValidity, messages: options.mails.map((raw) => ({ raw })) },
      '': { separator: '/', folders: { Processed: {} } },
    },
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
