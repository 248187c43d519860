import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer to force on the next call of an endpoint: a WeChat errcode, or a bare HTTP status. */
export type ForcedAnswer = { errcode: number; errmsg: string } | { httpStatus: number };

export interface RecordedCall {
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown> | null;
  /** The errcode the fake answered (0 for success), or the HTTP status when it answered one. */
  answered: number;
}

interface Media {
  data: Buffer;
  contentType: string;
  fileName: string;
  /** Videos are not served by media/get itself but through a download link. */
  asVideoLink?: boolean;
}

/** The one file part (`media`) of a multipart/form-data upload. */
function parseUpload(raw: Buffer, boundary: string): Media | undefined {
  const start = raw.indexOf(`--${boundary}\r\n`);
  const headersEnd = raw.indexOf('\r\n\r\n', start);
  const end = raw.indexOf(`\r\n--${boundary}--`, headersEnd);
  if (start < 0 || headersEnd < 0 || end < 0) return undefined;
  const headers = raw.subarray(start, headersEnd).toString('utf8');
  if (!/name="media"/.test(headers)) return undefined;
  return {
    data: raw.subarray(headersEnd + 4, end),
    contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? 'application/octet-stream',
    fileName: /filename="([^"]*)"/.exec(headers)?.[1] ?? '',
  };
}

const errmsgs: Record<number, string> = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40007: 'invalid media_id',
  40013: 'invalid appid',
  40125: 'invalid appsecret',
  42001: 'access_token expired',
  48001: 'api unauthorized',
};

/**
 * The WeChat Official Account API on loopback, speaking its JSON shapes and errcodes: stable_token,
 * message/custom/send, message/template/send and media/get. Tests force errors per endpoint and
 * expire or revoke tokens to drive the hub's handling.
 */
export async function startFakeWechatApi(credentials: { appId: string; appSecret: string }) {
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  let current: string | undefined;
  const forced = new Map<string, ForcedAnswer[]>();
  const calls: RecordedCall[] = [];
  const media = new Map<string, Media>();
  let tokenIssues = 0;

  const issueToken = () => {
    if (current) tokens.get(current)!.revoked = true;
    current = `fake-token-${randomBytes(12).toString('hex')}`;
    tokens.set(current, { expiresAt: Date.now() + 7_200_000, revoked: false });
    tokenIssues++;
    return current;
  };
  const tokenError = (token: string | undefined): number => {
    const state = token ? tokens.get(token) : undefined;
    if (!state || state.revoked) return 40001;
    return state.expiresAt <= Date.now() ? 42001 : 0;
  };
  const json = (res: http.ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json; encoding=utf-8' }).end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const raw = Buffer.concat(chunks);
      const upload = /boundary=(.+)$/.exec(req.headers['content-type'] ?? '');
      let body: Record<string, unknown> | null = null;
      let uploaded: Media | undefined;
      if (upload) {
        uploaded = parseUpload(raw, upload[1]!);
        if (!uploaded) return json(res, { errcode: 41005, errmsg: 'media data missing' });
        body = { fileName: uploaded.fileName, contentType: uploaded.contentType, size: uploaded.data.length };
      } else {
        try {
          body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : null;
        } catch {
          return json(res, { errcode: 47001, errmsg: 'data format error' });
        }
      }
      const record = (answered: number) => calls.push({ path: url.pathname, query, body, answered });
      const fail = (errcode: number) => {
        record(errcode);
        json(res, { errcode, errmsg: `${errmsgs[errcode] ?? 'error'} rid: ${randomBytes(4).toString('hex')}` });
      };

      if (url.pathname === '/cgi-bin/stable_token') {
        if (body?.appid !== credentials.appId) return fail(40013);
        if (body?.secret !== credentials.appSecret) return fail(40125);
        const reuse = body?.force_refresh !== true && current && tokenError(current) === 0;
        record(0);
        return json(res, { access_token: reuse ? current : issueToken(), expires_in: 7200 });
      }

      // Video download links are pre-authorized and need no token.
      const video = /^\/video\/(.+)$/.exec(url.pathname);
      if (video) {
        const file = media.get(video[1]!);
        record(file ? 0 : 404);
        return file ? res.writeHead(200, { 'content-type': file.contentType }).end(file.data) : res.writeHead(404).end();
      }

      const queue = forced.get(url.pathname);
      const answer = queue?.shift();
      if (answer && 'httpStatus' in answer) {
        record(answer.httpStatus);
        return res.writeHead(answer.httpStatus, { 'content-type': 'text/html' }).end('<html><body>upstream error</body></html>');
      }
      const rejected = tokenError(query.access_token);
      if (rejected) return fail(rejected);
      if (answer) {
        record(answer.errcode);
        return json(res, answer);
      }

      switch (url.pathname) {
        case '/cgi-bin/message/custom/send':
          if (typeof body?.touser !== 'string' || typeof body.msgtype !== 'string') return fail(44002);
          record(0);
          return json(res, { errcode: 0, errmsg: 'ok' });
        case '/cgi-bin/message/template/send':
          if (typeof body?.touser !== 'string' || typeof body.template_id !== 'string') return fail(44002);
          record(0);
          return json(res, { errcode: 0, errmsg: 'ok', msgid: 200_228_332 + calls.length });
        case '/cgi-bin/media/upload': {
          if (!uploaded || query.type !== 'image') return fail(40004);
          const mediaId = `upload-${randomBytes(16).toString('base64url')}`;
          media.set(mediaId, uploaded);
          record(0);
          return json(res, { type: 'image', media_id: mediaId, created_at: Math.floor(Date.now() / 1000) });
        }
        case '/cgi-bin/media/get': {
          const file = media.get(query.media_id ?? '');
          if (!file) return fail(40007);
          record(0);
          if (file.asVideoLink) return json(res, { video_url: `http://127.0.0.1:${port()}/video/${query.media_id}` });
          return res
            .writeHead(200, {
              'content-type': file.contentType,
              'content-disposition': `attachment; filename="${file.fileName}"`,
              'content-length': file.data.length,
            })
            .end(file.data);
        }
        default:
          return fail(48001);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = () => (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port()}`,
    calls,
    /** How many tokens stable_token has handed out that were new (not the still-valid current one). */
    get tokenIssues() {
      return tokenIssues;
    },
    callsTo: (path: string) => calls.filter((c) => c.path === path),
    /** Answers the next calls of `path` with these, in order, before behaving normally again. */
    force(path: string, ...answers: ForcedAnswer[]) {
      forced.set(path, [...(forced.get(path) ?? []), ...answers]);
    },
    /** Lets every token issued so far lapse, as two hours passing would. */
    expireTokens() {
      for (const state of tokens.values()) state.expiresAt = Date.now();
    },
    /** Invalidates every token, as a token fetched elsewhere with force_refresh would. */
    revokeTokens() {
      for (const state of tokens.values()) state.revoked = true;
    },
    addMedia(id: string, file: Media) {
      media.set(id, file);
    },
    /** A file uploaded through media/upload (or added), as WeChat holds it. */
    media: (id: string) => media.get(id),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
export type FakeWechatApi = Awaited<ReturnType<typeof startFakeWechatApi>>;
