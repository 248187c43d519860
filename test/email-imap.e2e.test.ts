import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapLogin, startImapPeer } from './support/imap-peer.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let peer: Awaited<ReturnType<typeof startImapPeer>>;

const mail = (n: number, text: string) =>
  [
    `From: Customer ${n} <customer${n}@example.cn>`,
    'To: care@bank.test',
    `Subject: =?UTF-8?B?${Buffer.from(`问题 ${n}`).toString('base64')}?=`,
    `Message-ID: <imap-${n}@example.cn>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(text).toString('base64'),
    '',
  ].join('\r\n');
const mails = [mail(1, '第一封'), mail(2, '第二封'), mail(3, '第三封'), mail(4, '第四封'), mail(5, '第五封')];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await peer?.close();
  await hub?.close();
});

async function imported() {
  return hub.runtime.database.query<{ text: string; via: string }>(
    sql`select m.text, m.payload->>'via' as via from messages m where m.direction = 'inbound' order by m.seq`,
  );
}

async function flagsOnServer(port: number): Promise<Map<number, string[]>> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: imapLogin.user, pass: imapLogin.password }, logger: false });
  await client.connect();
  try {
    await client.mailboxOpen('INBOX');
    const messages = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
    return new Map(messages.map((m) => [m.uid, [...(m.flags ?? [])]]));
  } finally {
    await client.logout();
  }
}

describe('IMAP polling', () => {
  it('imports new mail once across reconnects, server restarts and a renumbered mailbox', async () => {
    peer = await startImapPeer({ uidValidity: 1001, mails: mails.slice(0, 2) });
    const { status, body } = await hub.api('POST', '/api/v1/channels', {
      type: 'email',
      name: 'Care mailbox',
      config: {
        address: 'care@bank.test',
        webhookSecret: randomBytes(24).toString('hex'),
        imapHost: '127.0.0.1',
        imapPort: peer.port,
        imapSecure: false,
        imapUser: imapLogin.user,
        imapPassword: imapLogin.password,
        imapPollIntervalMs: 1_000,
      },
    });
    expect(status).toBe(201);
    expect(body.secretsSet).toEqual(expect.arrayContaining(['imapPassword', 'webhookSecret']));
    expect(JSON.stringify(body)).not.toContain(imapLogin.password);

    await waitFor(async () => (await imported()).length === 2, 15_000, 'the first two mails');
    expect(await imported()).toEqual([
      { text: '第一封', via: 'imap' },
      { text: '第二封', via: 'imap' },
    ]);
    const flags = await flagsOnServer(peer.port);
    expect([...flags.values()].every((f) => f.includes('\\Seen'))).toBe(true);

    // The mail server restarts (every poll reconnects) and comes back with one more mail.
    const port = peer.port;
    await peer.close();
    await new Promise((r) => setTimeout(r, 1_500));
    peer = await startImapPeer({ port, uidValidity: 1001, mails: mails.slice(0, 3) });
    await waitFor(async () => (await imported()).length >= 3, 15_000, 'the third mail');

    // The server renumbers the mailbox: all its mail looks new, only the new one is imported.
    await peer.close();
    peer = await startImapPeer({ port, uidValidity: 2002, mails: mails.slice(0, 5) });
    await waitFor(async () => (await imported()).length >= 5, 15_000, 'the fourth and fifth mails');
    // Several more polls run meanwhile; none may import anything again.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await imported()).map((m) => m.text)).toEqual(['第一封', '第二封', '第三封', '第四封', '第五封']);
    const [events] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events`);
    expect(events!.n).toBe(5);
  });
});
