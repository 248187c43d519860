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

async function imported(channelId?: string) {
  return hub.runtime.database.query<{ text: string; via: string }>(
    sql`select m.text, m.payload->>'via' as via from messages m
        where m.direction = 'inbound' and (${channelId ?? null}::uuid is null or m.channel_id = ${channelId ?? null}::uuid) order by m.seq`,
  );
}

async function createImapChannel(port: number, extra: Record<string, unknown> = {}) {
  const { status, body } = await hub.api('POST', '/api/v1/channels', {
    type: 'email',
    name: 'Care mailbox',
    config: {
      address: 'care@bank.test',
      webhookSecret: randomBytes(24).toString('hex'),
      imapHost: '127.0.0.1',
      imapPort: port,
      imapSecure: false,
      imapUser: imapLogin.user,
      imapPassword: imapLogin.password,
      imapPollIntervalMs: 1_000,
      ...extra,
    },
  });
  expect(status).toBe(201);
  return body;
}

/** The flags of every mail in a folder, read over IMAP as any mail client would. */
async function flagsOnServer(port: number, folder = 'INBOX'): Promise<string[][]> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: imapLogin.user, pass: imapLogin.password }, logger: false });
  await client.connect();
  try {
    const mailbox = await client.mailboxOpen(folder);
    if (!mailbox.exists) return [];
    const messages = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
    return messages.map((m) => [...(m.flags ?? [])]);
  } finally {
    await client.logout();
  }
}

describe('IMAP polling', () => {
  it('imports new mail once across reconnects, server restarts and a renumbered mailbox', async () => {
    peer = await startImapPeer({ uidValidity: 1001, mails: mails.slice(0, 2) });
    const body = await createImapChannel(peer.port);
    expect(body.secretsSet).toEqual(expect.arrayContaining(['imapPassword', 'webhookSecret']));
    expect(JSON.stringify(body)).not.toContain(imapLogin.password);

    await waitFor(async () => (await imported()).length === 2, 15_000, 'the first two mails');
    // Mails from different senders are processed concurrently, in no promised order.
    expect(await imported()).toEqual(expect.arrayContaining([
      { text: '第一封', via: 'imap' },
      { text: '第二封', via: 'imap' },
    ]));
    // The poller flags each mail after committing it, so the flag may trail the stored message.
    await waitFor(async () => (await flagsOnServer(peer.port)).every((flags) => flags.includes('\\Seen')), 10_000, 'mails flagged seen');
    expect(await flagsOnServer(peer.port)).toHaveLength(2);

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
    expect((await imported()).map((m) => m.text).sort()).toEqual(['第一封', '第二封', '第三封', '第四封', '第五封'].sort());
    const [events] = await hub.runtime.database.query<{ n: number }>(sql`select count(*)::int as n from inbound_events`);
    expect(events!.n).toBe(5);
    expect((await hub.api('POST', `/api/v1/channels/${body.id}/disable`)).status).toBe(200);
  });

  it('moves imported mail to the configured folder', async () => {
    await peer.close();
    peer = await startImapPeer({ uidValidity: 7, mails: [mail(6, '第六封'), mail(7, '第七封')] });
    const channel = await createImapChannel(peer.port, { imapAfterImport: 'move', imapMoveTo: 'Processed' });
    await waitFor(async () => (await imported(channel.id)).length === 2, 15_000, 'two mails');
    await waitFor(async () => (await flagsOnServer(peer.port)).length === 0, 10_000, 'an empty INBOX');
    expect(await flagsOnServer(peer.port, 'Processed')).toHaveLength(2);
    expect((await imported(channel.id)).map((m) => m.text).sort()).toEqual(['第六封', '第七封'].sort());
  });
});
