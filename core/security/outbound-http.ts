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
