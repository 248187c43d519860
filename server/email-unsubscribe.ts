import express, { type Express, type Request, type Response } from 'express';
import { escapeHtml } from '../adapters/email/email.adapter.js';
import type { EmailChannelConfig } from '../adapters/email/email.config.js';
import { addressFromUnsubscribeToken } from '../adapters/email/reply-token.js';
import { optOutIdentity } from '../core/consents/opt-out.js';
import { setPageHeaders } from './console.js';
import type { Runtime } from './runtime.js';

/** The page is the hub's, with the console's security headers; it names an address, so nothing keeps a copy. */
function sendPage(res: Response, status: number, title: string, body: string) {
  setPageHeaders(res);
  res.set({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).status(status).type('html').send(page(title, body));
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head>` +
  `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body></html>`;

/**
 * The one-click unsubscribe link of marketing mail (RFC 8058). Mail clients POST to it; a person
 * opening it gets a page with a button. A GET changes nothing, so the link scanners of mail
 * gateways, which fetch every link, unsubscribe nobody.
 */
export function mountEmailUnsubscribe(app: Express, runtime: Runtime): void {
  const path = '/email/unsubscribe/:channelId/:token';
  const resolve = async (req: Request, res: Response) => {
    const { channelId, token } = req.params as { channelId: string; token: string };
    const channel = await runtime.channels.get(channelId);
    const address =
      channel?.row.type === 'email' ? addressFromUnsubscribeToken((channel.context.config as EmailChannelConfig).webhookSecret, token) : undefined;
    if (!channel || !address) {
      sendPage(res, 404, 'Link not valid', '<p>This unsubscribe link is not valid.</p>');
      return undefined;
    }
    return { channel, address };
  };

  app.get(path, async (req, res) => {
    const target = await resolve(req, res);
    if (!target) return;
    sendPage(
      res,
      200,
      'Unsubscribe',
      `<p>Stop marketing mail from ${escapeHtml(target.channel.row.name)} to <b>${escapeHtml(target.address)}</b>?</p>` +
        `<form method="post"><button type="submit">Unsubscribe</button></form>`,
    );
  });

  app.post(path, express.urlencoded({ extended: false, limit: 1024 }), async (req, res) => {
    const target = await resolve(req, res);
    if (!target) return;
    await optOutIdentity(runtime.database.db, {
      channelId: target.channel.row.id,
      kind: 'email',
      value: target.address,
      source: 'email:one-click',
    });
    sendPage(res, 200, 'Unsubscribed', `<p><b>${escapeHtml(target.address)}</b> will receive no more marketing mail from ${escapeHtml(target.channel.row.name)}.</p>`);
  });
}
