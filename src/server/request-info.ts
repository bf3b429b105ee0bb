import { randomUUID } from 'node:crypto';
import { createContextKey } from '@connectrpc/connect';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/**
 * What latchkey knows about one HTTP request, from the socket to the log line.
 * The HTTP layer creates it; RPC interceptors and handlers read it through
 * `requestInfoKey` and record the outcome on it; one JSON log line is written
 * from it when the response closes.
 */
export interface RequestInfo {
  readonly id: string;
  readonly startedAt: bigint;
  /** The TCP peer, with IPv4-mapped IPv6 addresses left as the socket gave them. */
  readonly peerAddress: string;
  /**
   * The request headers as Node parsed them (lower-case names). The runtime credential check reads
   * them here rather than through the Fetch `Headers` Connect builds, whose `get` normalises and
   * validates the name on every call.
   */
  readonly headers: IncomingHttpHeaders;
  /** `/package.Service/Method` for RPCs, the route pattern for plain routes. */
  procedure?: string;
  /** Connect code name (`ok`, `unauthenticated`, …) for RPCs. */
  code?: string;
  /** An `ErrorInfo` reason when the request was refused with one. */
  reason?: string;
}

export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined, {
  description: 'latchkey request info',
});

/**
 * Headers an interceptor wants on the answer whether the call succeeds or
 * fails (the rate-limit headers), as name/value pairs; the error interceptor
 * applies them to the response headers or to the error's metadata. A plain
 * list rather than a Fetch `Headers`, which validates every name and value:
 * it is filled on every call.
 */
export const extraResponseHeadersKey = createContextKey<[string, string][] | undefined>(undefined, {
  description: 'latchkey extra response headers',
});

const infos = new WeakMap<object, RequestInfo>();

const INBOUND_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a request is started from: Node's request objects, or an HTTP/2 stream's headers and socket (src/server/http2-stream-handler.ts). */
export interface StartedRequest {
  readonly headers: (IncomingMessage | Http2ServerRequest)['headers'];
  readonly socket?: { readonly remoteAddress?: string | undefined } | null | undefined;
}

export function startRequest(req: StartedRequest): RequestInfo {
  const inbound = req.headers['x-request-id'];
  const info: RequestInfo = {
    id: typeof inbound === 'string' && INBOUND_ID.test(inbound) ? inbound : randomUUID(),
    startedAt: process.hrtime.bigint(),
    peerAddress: req.socket?.remoteAddress ?? '',
    headers: req.headers,
  };
  infos.set(req, info);
  return info;
}

export function requestInfoOf(req: object): RequestInfo | undefined {
  return infos.get(req);
}
