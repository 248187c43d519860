import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Addresses an outbound callback may not reach unless private targets are allowed (SSRF guard). */
const privateRanges = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  privateRanges.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  privateRanges.addSubnet(prefix, bits, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return privateRanges.check(mapped[1]!, 'ipv4');
  return privateRanges.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

export class OutboundHttpError extends Error {
  override name = 'OutboundHttpError';
  constructor(
    message: string,
    /** `blocked`: refused before connecting; `unreachable`: never reached the peer; `no-answer`: may have reached it. */
    readonly kind: 'blocked' | 'unreachable' | 'no-answer',
  ) {
    super(message);
  }
}

/**
 * A DNS lookup for sockets to tenant-configured hosts (HTTP, HTTP/2) that refuses private
 * addresses unless allowed. Checking in the socket's own lookup also defeats DNS rebinding.
 */
export function guardedLookup(allowPrivate: boolean): typeof dnsLookup {
  return ((hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const blocked = !allowPrivate && addresses.find((a) => isPrivateAddress(a.address));
      if (blocked) {
        return callback(new OutboundHttpError(`${hostname} resolves to a private address`, 'blocked'), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as AllCallback)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  }) as typeof dnsLookup;
}

export interface ResolvedHost {
  /** The address to connect to: the one the guard checked, so a second lookup cannot swap it. */
  address: string;
  family: 4 | 6;
}

/** The host a configured target names: a URL's hostname, or the target itself (an SMTP or IMAP host). */
export function hostOf(target: string): string {
  let host = target.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    try {
      host = new URL(host).hostname;
    } catch {
      throw new OutboundHttpError(`invalid URL: ${target}`, 'blocked');
    }
  }
  return host.replace(/^\[|\]$/g, '');
}

/**
 * The guard for raw connections to a configured host (SMTP, IMAP), the same one HTTP requests go
 * through: the name is resolved once, refused when any of its addresses is private, loopback or
 * link-local (unless allowed), and the caller connects to the address returned, never to the name.
 * Refusing happens before any connection is attempted, so whether a private port is open is never
 * learnt.
 */
export async function resolveOutboundHost(target: string, options: { allowPrivate: boolean; timeoutMs?: number }): Promise<ResolvedHost> {
  const host = hostOf(target);
  if (!host) throw new OutboundHttpError('no host given', 'blocked');
  if (net.isIP(host)) {
    if (!options.allowPrivate && isPrivateAddress(host)) throw new OutboundHttpError(`${host} is a private address`, 'blocked');
    return { address: host, family: net.isIPv6(host) ? 6 : 4 };
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new OutboundHttpError(`${host} did not resolve within ${options.timeoutMs ?? 5_000} ms`, 'unreachable')), options.timeoutMs ?? 5_000);
    timer.unref();
    dnsLookup(host, { all: true }, (err, found) => {
      clearTimeout(timer);
      if (err) reject(new OutboundHttpError(`${host} does not resolve (${err.code ?? err.message})`, 'unreachable'));
      else resolve(found);
    });
  });
  const blocked = !options.allowPrivate && addresses.find((a) => isPrivateAddress(a.address));
  if (blocked) throw new OutboundHttpError(`${host} resolves to a private address`, 'blocked');
  const first = addresses[0];
  if (!first) throw new OutboundHttpError(`${host} does not resolve`, 'unreachable');
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

export interface OutboundRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  allowPrivate: boolean;
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The answer was longer than `maxResponseBytes` and `body` holds only its beginning. */
  truncated: boolean;
}

/**
 * Sends one HTTP request to a URL a tenant configured. The address check happens in the socket's
 * own DNS lookup, so a host that resolves to a public address for validation and a private one
 * for the connection (DNS rebinding) is refused too.
 */
export function sendOutboundHttp(request: OutboundRequest): Promise<OutboundResponse> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return Promise.reject(new OutboundHttpError(`invalid URL: ${request.url}`, 'blocked'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new OutboundHttpError(`unsupported URL scheme ${url.protocol}`, 'blocked'));
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!request.allowPrivate && net.isIP(host) && isPrivateAddress(host)) {
    return Promise.reject(new OutboundHttpError(`${host} is a private address`, 'blocked'));
  }

  const maxBytes = request.maxResponseBytes ?? 1_048_576;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = transport.request(
      url,
      { method: request.method ?? 'POST', headers: request.headers, lookup: guardedLookup(request.allowPrivate), timeout: request.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // Memory stays bounded whatever the peer sends; `truncated` tells the caller it was cut.
          if (size <= maxBytes) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated: size > maxBytes }));
        res.on('error', reject);
      },
    );
    // A kept-alive socket is handed over already connected and never emits `connect` again:
    // listening anyway would pile up one listener per request on it.
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (connected = true));
      else connected = true;
    });
    req.on('timeout', () => req.destroy(new OutboundHttpError(`no answer within ${request.timeoutMs} ms`, 'no-answer')));
    req.on('error', (err) => {
      if (err instanceof OutboundHttpError) return reject(err);
      reject(new OutboundHttpError(err.message, connected ? 'no-answer' : 'unreachable'));
    });
    req.end(request.body);
  });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
