/** What one driver run reports, whichever tool produced it. Latencies in ms, as the client saw them. */
export interface LoadResult {
  /** Completed requests that answered as expected (HTTP 200). */
  requests: number;
  /** Requests that failed: socket errors, timeouts, or any other status. */
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  /** Which driver measured it (`wrk`, `h2load`, `node`). */
  tool: string;
}

/** An HTTP/1.1 POST that a row sends over and over (Connect JSON, the plain routes, OFREP). */
export interface HttpCall {
  kind: 'http';
  port: number;
  path: string;
  body: string;
  headers: Record<string, string>;
  /**
   * A file of secrets, one a line: each request then carries the next one as `Authorization: Bearer <secret>`
   * (cold credentials). `offset` is where in the file this run starts.
   */
  rotate?: { file: string; count: number; offset: number };
}

/** A gRPC unary call over HTTP/2 (one connection, several streams). */
export interface GrpcCall {
  kind: 'grpc';
  port: number;
  /** `/package.Service/Method`. */
  path: string;
  /** The serialized request message (not framed). */
  message: Uint8Array;
  metadata: Record<string, string>;
}

export type Call = HttpCall | GrpcCall;
