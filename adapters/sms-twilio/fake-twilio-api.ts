import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

export interface ReceivedSend {
  /** Decoded Basic credentials, `accountSid:authToken`. */
  credentials: string;
  form: Record<string, string>;
  contentType: string | undefined;
  at: number;
  /** The HTTP status the fake answered. */
  answered: number;
  sid: string | undefined;
}

/** A scripted failure, answered the way Twilio answers errors (JSON with Twilio's code). */
export interface ScriptedError {
  status: number;
  code: number;
  message: string;
  retryAfter?: string;
}

/**
 * Twilio's REST API on loopback, for the parts the hub uses: `POST .../Messages.json` (form
 * encoded, Basic auth) answered with a Message resource or a scripted Twilio error, media
 * downloads under `.../Messages/{sid}/Media/{sid}` and the Account resource (the channel test),
 * all requiring the account's credentials.
 */
export async function startFakeTwilioApi(account: { accountSid: string; authToken: string }) {
  const sends: ReceivedSend[] = [];
  const mediaRequests: Array<{ path: string; credentials: string }> = [];
  const media = new Map<string, { data: Buffer; contentType: string }>();
  const script: ScriptedError[] = [];
  const holds: Array<{ arrived: (sid: string) => void; released: Promise<void> }> = [];
  const expected = `${account.accountSid}:${account.authToken}`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const credentials = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      const error = (e: ScriptedError) =>
        json(e.status, { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status }, e.retryAfter ? { 'retry-after': e.retryAfter } : {});
      const path = new URL(req.url!, 'http://fake').pathname;

      if (req.method === 'GET' && media.has(path)) {
        mediaRequests.push({ path, credentials });
        if (credentials !== expected) return error({ status: 401, code: 20003, message: 'Authenticate' });
        const file = media.get(path)!;
        return res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.data.length }).end(file.data);
      }
      if (req.method === 'GET' && path === `/2010-04-01/Accounts/${account.accountSid}.json`) {
        if (credentials !== expected) return error({ status: 401, code: 20003, message: 'Authenticate' });
        return json(200, {
          sid: account.accountSid,
          friendly_name: 'Card services',
          status: 'active',
          type: 'Full',
          owner_account_sid: account.accountSid,
          uri: `/2010-04-01/Accounts/${account.accountSid}.json`,
        });
      }
      if (req.method === 'POST' && path === `/2010-04-01/Accounts/${account.accountSid}/Messages.json`) {
        const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
        const record: ReceivedSend = { credentials, form, contentType: req.headers['content-type'], at: Date.now(), answered: 0, sid: undefined };
        sends.push(record);
        if (credentials !== expected) {
          record.answered = 401;
          return error({ status: 401, code: 20003, message: 'Authenticate' });
        }
        const scripted = script.shift();
        if (scripted) {
          record.answered = scripted.status;
          return error(scripted);
        }
        record.sid = `SM${randomBytes(16).toString('hex')}`;
        record.answered = 201;
        const hold = holds.shift();
        hold?.arrived(record.sid);
        return void (hold?.released ?? Promise.resolve()).then(() => json(201, {
          sid: record.sid,
          account_sid: account.accountSid,
          to: form.To,
          from: form.From ?? null,
          messaging_service_sid: form.MessagingServiceSid ?? null,
          body: form.Body,
          status: form.MessagingServiceSid ? 'accepted' : 'queued',
          num_segments: '1',
          num_media: '0',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          price: null,
          error_code: null,
          error_message: null,
          date_created: new Date().toUTCString(),
          date_updated: new Date().toUTCString(),
          date_sent: null,
          uri: `/2010-04-01/Accounts/${account.accountSid}/Messages/${record.sid}.json`,
          subresource_uris: { media: `/2010-04-01/Accounts/${account.accountSid}/Messages/${record.sid}/Media.json` },
        }));
      }
      error({ status: 404, code: 20404, message: `The requested resource ${path} was not found` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    sends,
    mediaRequests,
    /** The next sends are answered with these errors, in order. */
    failNext(...errors: ScriptedError[]) {
      script.push(...errors);
    },
    /**
     * Keeps the answer to the next successful send until `release`, so a test can deliver a
     * status callback for the message before the hub learns its SID (as Twilio sometimes does).
     */
    holdNext() {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const arrived = new Promise<string>((resolve) => holds.push({ arrived: resolve, released }));
      return { arrived, release };
    },
    /** Stores media of an inbound MMS and returns its MediaUrl, as Twilio puts it in the webhook. */
    addMedia(data: Buffer, contentType: string): string {
      const path = `/2010-04-01/Accounts/${account.accountSid}/Messages/MM${randomBytes(16).toString('hex')}/Media/ME${randomBytes(16).toString('hex')}`;
      media.set(path, { data, contentType });
      return `${url}${path}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
export type FakeTwilioApi = Awaited<ReturnType<typeof startFakeTwilioApi>>;

/**
 * Posts a webhook the way Twilio does: form-encoded, signed over the URL it calls (`signedUrl`,
 * the public address) and the form fields, delivered to `deliverTo` (where the hub listens).
 */
export async function postAsTwilio(options: {
  authToken: string;
  signedUrl: string;
  deliverTo?: string;
  params: Record<string, string>;
  tamper?: (params: Record<string, string>) => Record<string, string>;
}) {
  const signature = twilio.getExpectedTwilioSignature(options.authToken, options.signedUrl, options.params);
  const sent = options.tamper ? options.tamper({ ...options.params }) : options.params;
  const response = await fetch(options.deliverTo ?? options.signedUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'i-twilio-idempotency-token': randomBytes(8).toString('hex') },
    body: new URLSearchParams(sent).toString(),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
}
