import type { Readable } from 'node:stream';

/**
 * How the message travels in the body: `unary` is the whole body (Connect unary), `enveloped`
 * one 5-byte-prefixed message (gRPC, gRPC-Web: a flags byte, then the length, big-endian).
 */
export type Framing = 'unary' | 'enveloped';

/** A request body as the lean path read it. */
export interface LeanBody {
  /** The message bytes, when the body is exactly one message within the limits; else undefined. */
  message: Uint8Array | undefined;
  /** Every chunk read so far (for a replay to the Connect adapter). */
  chunks: Buffer[];
  /** Whether the body was read to its end. */
  ended: boolean;
}

/** Bytes of an envelope's prefix. */
const PREFIX = 5;

/**
 * Reads a request body with one promise and no async iterator, for the common case: one message
 * of at most `readMaxBytes`, nothing before or after it. It stops reading as soon as the body is
 * anything else (larger than the limit, an envelope with flags or a second envelope, more or
 * fewer bytes than Content-Length promised, a client that went away): then `message` is
 * undefined and the caller hands what was read, and the rest, to the Connect adapter, which
 * answers such bodies in its own words (RESOURCE_EXHAUSTED, "protocol error: …").
 * `req` is Node's request object, or the HTTP/2 stream itself. The listener's body timeout still
 * applies: it acts on the socket or stream underneath.
 */
export function readLeanBody(req: Readable, framing: Framing, readMaxBytes: number, lengthHint: number | undefined): Promise<LeanBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** For envelopes: the body size the first envelope's prefix announces. */
    let expected = -1;
    let settled = false;

    const finish = (message: Uint8Array | undefined, ended: boolean) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      if (!ended) req.pause();
      resolve({ message, chunks, ended });
    };
    const whole = () => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));

    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (framing === 'unary') {
        if (size > readMaxBytes || (lengthHint !== undefined && size > lengthHint)) finish(undefined, false);
        return;
      }
      if (expected < 0 && size >= PREFIX) {
        const head = chunks[0]!.length >= PREFIX ? chunks[0]! : whole();
        const length = head.readUInt32BE(1);
        if (head[0] !== 0 || length > readMaxBytes) return finish(undefined, false);
        expected = PREFIX + length;
      }
      if (expected >= 0 && size > expected) finish(undefined, false);
    };
    const onEnd = () => {
      if (framing === 'unary') {
        finish(lengthHint !== undefined && size !== lengthHint ? undefined : whole(), true);
      } else {
        finish(expected >= 0 && size === expected ? whole().subarray(PREFIX) : undefined, true);
      }
    };
    // Closed (or failed) before its end: the client reset the stream or went away.
    const onClose = () => finish(undefined, req.readableEnded);

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}
