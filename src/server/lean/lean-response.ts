import type { ServerHttp2Stream } from 'node:http2';
import type { HttpResponse } from '../http-util.js';

/**
 * Where the lean path writes an answer: the few operations its framing (wire-protocols.ts) needs,
 * implemented once for Node's compatibility response objects (HTTP/1.1 and HTTP/2) and once for a
 * raw HTTP/2 stream, so that the bytes, headers and trailers of an answer are framed in one place.
 */
export interface LeanResponse {
  readonly headersSent: boolean;
  /** Sends the status and the headers. `trailersFollow`: the answer ends with HTTP trailers (gRPC). */
  writeHead(status: number, headers: Record<string, string>, trailersFollow: boolean): void;
  write(data: Uint8Array): void;
  /** Ends the body (after `data`, if given). */
  end(data?: Uint8Array | string): void;
  /** Ends the body and sends `trailers` (only after writeHead with trailersFollow). */
  endWithTrailers(trailers: Record<string, string>): void;
  /** Drops the exchange (an answer that cannot be written). */
  destroy(): void;
}

// Classes rather than object literals of closures: these are built for every call, and methods on
// a prototype cost nothing per call (a literal's closures are allocated, and named, each time).

/** A LeanResponse on Node's compatibility response (http.ServerResponse or Http2ServerResponse). */
export class CompatLeanResponse implements LeanResponse {
  constructor(private readonly res: HttpResponse) {}
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  writeHead(status: number, headers: Record<string, string>): void {
    this.res.writeHead(status, headers);
  }
  write(data: Uint8Array): void {
    (this.res as { write(data: Uint8Array): void }).write(data);
  }
  end(data?: Uint8Array | string): void {
    if (data === undefined) this.res.end();
    else (this.res as { end(data: Uint8Array | string): void }).end(data);
  }
  endWithTrailers(trailers: Record<string, string>): void {
    this.res.addTrailers(trailers);
    this.res.end();
  }
  destroy(): void {
    this.res.destroy();
  }
}

/**
 * A LeanResponse straight on an HTTP/2 stream (what @grpc/grpc-js does), with `x-request-id` on
 * the response headers as the request handler sets it on every answer. Trailers go out as Node's
 * compatibility layer sends them: `waitForTrailers`, then `sendTrailers` when the stream asks.
 * Once the client has reset the stream, writes are dropped, as the compatibility layer drops them.
 */
export class StreamLeanResponse implements LeanResponse {
  private trailers: Record<string, string> = {};
  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly requestId: string,
  ) {}
  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  private get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }
  writeHead(status: number, headers: Record<string, string>, trailersFollow: boolean): void {
    if (this.gone) return;
    if (trailersFollow) this.stream.once('wantTrailers', this.sendTrailers);
    headers['x-request-id'] = this.requestId;
    headers[':status'] = String(status);
    this.stream.respond(headers, { waitForTrailers: trailersFollow });
  }
  private readonly sendTrailers = (): void => {
    if (!this.gone) this.stream.sendTrailers({ ...this.trailers });
  };
  write(data: Uint8Array): void {
    if (!this.gone) this.stream.write(data);
  }
  end(data?: Uint8Array | string): void {
    if (this.gone) return;
    if (data === undefined) this.stream.end();
    else this.stream.end(data);
  }
  endWithTrailers(trailers: Record<string, string>): void {
    this.trailers = trailers;
    if (!this.gone) this.stream.end();
  }
  destroy(): void {
    this.stream.destroy();
  }
}
