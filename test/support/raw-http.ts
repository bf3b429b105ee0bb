import * as net from 'node:net';

/** A plain TCP connection to the server, for what no HTTP client would send. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /**
   * Resolves true once the server has closed the connection, or false if it is still open after
   * `withinMs` (the connection is then destroyed, so a test never leaves it behind).
   */
  closed(withinMs: number): Promise<boolean>;
  /** Writes unless the connection is already gone (a server that closed it may be ahead of the test). */
  send(data: string | Buffer): void;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined); // a reset from the server shows as a close
  const closedEvent = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    received: () => received,
    async closed(withinMs) {
      if (isClosed) return true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
      const result = await Promise.race([closedEvent.then(() => true), timedOut]);
      clearTimeout(timer);
      if (!result) socket.destroy();
      return result;
    },
    send(data) {
      if (!socket.destroyed && socket.writable) socket.write(data);
    },
  };
}

export interface RawResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/** The first HTTP/1.1 response in `text`, or undefined if none has arrived in full. */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  return { status, headers, body: text.slice(end + 4, end + 4 + length) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
