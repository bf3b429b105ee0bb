import type { Compression } from '@connectrpc/connect/protocol';
import { compressionNegotiate, encodeEnvelope, envelopeCompress } from '@connectrpc/connect/protocol';
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  headerTimeout as connectHeaderTimeout,
  headerUnaryAcceptEncoding,
  headerUnaryEncoding,
  parseContentType as parseConnectContentType,
  parseTimeout as parseConnectTimeout,
} from '@connectrpc/connect/protocol-connect';
import {
  contentTypeJson as grpcContentTypeJson,
  contentTypeProto as grpcContentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding as grpcHeaderAcceptEncoding,
  headerEncoding as grpcHeaderEncoding,
  headerGrpcStatus,
  headerTimeout as grpcHeaderTimeout,
  parseContentType as parseGrpcContentType,
  parseTimeout as parseGrpcTimeout,
  setTrailerStatus,
} from '@connectrpc/connect/protocol-grpc';
import {
  contentTypeJson as grpcWebContentTypeJson,
  contentTypeProto as grpcWebContentTypeProto,
  parseContentType as parseGrpcWebContentType,
  trailerFlag,
  trailerSerialize,
} from '@connectrpc/connect/protocol-grpc-web';
import type { ConnectError } from '@connectrpc/connect';
import type { IncomingHttpHeaders } from 'node:http';
import type { LeanResponse } from './lean-response.js';
import type { Framing } from './request-body.js';

/**
 * The wire rules of the three protocols for a unary call, as the Connect adapter applies them
 * (@connectrpc/connect 2.1 protocol-connect / protocol-grpc / protocol-grpc-web handler-factory.js),
 * built from the helpers those modules export: content types, compression negotiation, timeouts,
 * envelopes, trailers, error bodies. Only what a call that the lean path serves can need is here;
 * everything else is the adapter's (src/server/lean/lean-runtime-path.ts decides).
 */
export type WireProtocol = 'connect' | 'grpc' | 'grpc-web';

/** What the lean path knows about a request it will serve. */
export interface WireCall {
  protocol: WireProtocol;
  binary: boolean;
  framing: Framing;
  /** The response compression negotiated from the Accept-Encoding (Connect) / Grpc-Accept-Encoding header, if any. */
  compression: Compression | null;
}

// Connect spells header names in Title-Case; Node's request headers (and ours) are lower case.
const CONNECT_ENCODING = headerUnaryEncoding.toLowerCase();
const CONNECT_ACCEPT_ENCODING = headerUnaryAcceptEncoding.toLowerCase();
const CONNECT_TIMEOUT = connectHeaderTimeout.toLowerCase();
const GRPC_ENCODING = grpcHeaderEncoding.toLowerCase();
const GRPC_ACCEPT_ENCODING = grpcHeaderAcceptEncoding.toLowerCase();
const GRPC_TIMEOUT = grpcHeaderTimeout.toLowerCase();
const GRPC_STATUS = headerGrpcStatus.toLowerCase();

/** Responses of at least this many bytes are compressed when the client accepts it (the adapter's default compressMinBytes). */
const COMPRESS_MIN_BYTES = 1024;

/** The protocol, encoding and compression of a request, or undefined when the lean path must leave it to the adapter. */
export function wireCallOf(h: IncomingHttpHeaders, httpVersion: string, acceptCompression: readonly Compression[]): WireCall | undefined {
  const contentType = h['content-type'];
  if (typeof contentType !== 'string') return undefined;
  if (contentType.startsWith('application/grpc')) {
    const web = contentType.startsWith('application/grpc-web');
    let binary: boolean;
    if (web) {
      const type = parseGrpcWebContentType(contentType);
      // grpc-web-text is refused by the adapter (415); let it say so.
      if (type === undefined || type.text) return undefined;
      binary = type.binary;
    } else {
      // gRPC over HTTP/1.1 is not what any client sends; the adapter keeps whatever it does there.
      if (httpVersion !== '2.0') return undefined;
      const type = parseGrpcContentType(contentType);
      if (type === undefined) return undefined;
      binary = type.binary;
    }
    if (!identity(h[GRPC_ENCODING])) return undefined;
    if (!timeoutAccepted(h[GRPC_TIMEOUT], parseGrpcTimeout)) return undefined;
    return { protocol: web ? 'grpc-web' : 'grpc', binary, framing: 'enveloped', compression: negotiate(acceptCompression, h[GRPC_ACCEPT_ENCODING], grpcHeaderAcceptEncoding) };
  }
  const type = parseConnectContentType(contentType);
  if (type === undefined || type.stream) return undefined;
  if (!identity(h[CONNECT_ENCODING])) return undefined;
  if (!timeoutAccepted(h[CONNECT_TIMEOUT], parseConnectTimeout)) return undefined;
  return { protocol: 'connect', binary: type.binary, framing: 'unary', compression: negotiate(acceptCompression, h[CONNECT_ACCEPT_ENCODING], headerUnaryAcceptEncoding) };
}

/** A request body sent without compression (a compressed one is the adapter's to decompress). */
function identity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === 'identity';
}

/**
 * A deadline the adapter would accept: it turns it into an abort signal that these methods'
 * handlers never watch, so a call under a valid deadline is answered the same on either path.
 * A malformed or out-of-range one is refused by the adapter, in its words.
 */
function timeoutAccepted(value: string | string[] | undefined, parse: (value: string | null, maxTimeoutMs: number) => { error?: ConnectError }): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'string') return false;
  return parse(value, Number.MAX_SAFE_INTEGER).error === undefined;
}

function negotiate(available: readonly Compression[], accepted: string | string[] | undefined, headerName: string): Compression | null {
  if (accepted === undefined) return null;
  return compressionNegotiate([...available], null, Array.isArray(accepted) ? accepted.join(', ') : accepted, headerName).response;
}

/** An encoded response message: protobuf binary, or the JSON text. */
export type EncodedMessage = Uint8Array | string;

const bytesOf = (m: EncodedMessage): Uint8Array => (typeof m === 'string' ? Buffer.from(m) : m);

/** gRPC-Web's trailer frame of a call that succeeded: always the same bytes. */
const GRPC_WEB_OK_TRAILER = encodeEnvelope(trailerFlag, trailerSerialize(new Headers({ [GRPC_STATUS]: grpcStatusOk })));
const GRPC_OK_TRAILERS = { [GRPC_STATUS]: grpcStatusOk };

/**
 * Writes the answer of a call that succeeded, with `extra` (the rate-limit headers) as response
 * headers, as the adapter does (it applies them to the response header on every protocol).
 */
export async function writeSuccess(res: LeanResponse, call: WireCall, message: EncodedMessage, extra: readonly [string, string][]): Promise<void> {
  if (call.protocol === 'connect') {
    const headers: Record<string, string> = { 'content-type': call.binary ? contentTypeUnaryProto : contentTypeUnaryJson };
    for (const [name, value] of extra) headers[name] = value;
    await writeConnect(res, 200, headers, message, call.compression);
    return;
  }
  const headers: Record<string, string> = { 'content-type': contentTypeOf(call) };
  if (call.compression) headers[GRPC_ENCODING] = call.compression.name;
  for (const [name, value] of extra) headers[name] = value;
  const envelope = await envelopeOf(0, bytesOf(message), call.compression);
  res.writeHead(200, headers, call.protocol === 'grpc');
  if (call.protocol === 'grpc') {
    res.write(envelope);
    res.endWithTrailers(GRPC_OK_TRAILERS);
  } else {
    res.end(Buffer.concat([envelope, GRPC_WEB_OK_TRAILER]));
  }
}

/**
 * Writes a refusal: on Connect the JSON error body with the error's metadata as headers and the
 * status its code maps to; on gRPC the status in trailers (grpc-status, grpc-message,
 * grpc-status-details-bin, and the metadata), on gRPC-Web the same trailers in the body's last frame.
 */
export async function writeError(res: LeanResponse, call: WireCall, error: ConnectError): Promise<void> {
  if (call.protocol === 'connect') {
    const headers: Record<string, string> = { 'content-type': contentTypeUnaryJson };
    error.metadata.forEach((value, name) => {
      headers[name] = value;
    });
    await writeConnect(res, codeToHttpStatus(error.code), headers, errorToJsonBytes(error, undefined), call.compression);
    return;
  }
  const headers: Record<string, string> = { 'content-type': contentTypeOf(call) };
  if (call.compression) headers[GRPC_ENCODING] = call.compression.name;
  const trailer = setTrailerStatus(new Headers({ [GRPC_STATUS]: grpcStatusOk }), error);
  res.writeHead(200, headers, call.protocol === 'grpc');
  if (call.protocol === 'grpc') {
    const trailers: Record<string, string> = {};
    trailer.forEach((value, name) => {
      trailers[name] = value;
    });
    res.endWithTrailers(trailers);
  } else {
    res.end(await envelopeOf(trailerFlag, trailerSerialize(trailer), call.compression));
  }
}

async function writeConnect(res: LeanResponse, status: number, headers: Record<string, string>, body: EncodedMessage, compression: Compression | null): Promise<void> {
  let out: EncodedMessage = body;
  let length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (compression && length >= COMPRESS_MIN_BYTES) {
    out = await compression.compress(bytesOf(body));
    length = out.byteLength;
    headers[CONNECT_ENCODING] = compression.name;
  }
  headers['content-length'] = String(length);
  res.writeHead(status, headers, false);
  res.end(out);
}

function contentTypeOf(call: WireCall): string {
  if (call.protocol === 'grpc') return call.binary ? grpcContentTypeProto : grpcContentTypeJson;
  return call.binary ? grpcWebContentTypeProto : grpcWebContentTypeJson;
}

async function envelopeOf(flags: number, data: Uint8Array, compression: Compression | null): Promise<Uint8Array> {
  if (compression === null || data.byteLength < COMPRESS_MIN_BYTES) return encodeEnvelope(flags, data);
  const compressed = await envelopeCompress({ flags, data }, compression, COMPRESS_MIN_BYTES);
  return encodeEnvelope(compressed.flags, compressed.data);
}
