/**
 * A real `latchkey serve` with several worker processes (LATCHKEY_WORKERS), and the means to tell
 * which worker answered a request: every response carries its `x-request-id`, and the request's
 * log line carries the `worker` that served it.
 */
import * as http from 'node:http';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { spawnLatchkey, type Spawned } from '../../support/process.js';

export interface LogLine {
  msg: string;
  worker?: number;
  [field: string]: unknown;
}

export interface ClusterRun {
  process: Spawned;
  port: number;
  baseUrl: string;
  /** Every JSON log line so far. */
  lines(): LogLine[];
  /** Resolves with the first log line `match` accepts, once it has been written. */
  waitForLine(match: (line: LogLine) => boolean): Promise<LogLine>;
  /** The worker (cluster id) whose log line has this request id. */
  workerOf(requestId: string): Promise<number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function parseLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Starts `latchkey serve` with `workers` workers and waits until the primary says it listens. */
export async function startCluster(workers: number, env: Record<string, string>): Promise<ClusterRun> {
  const run = spawnLatchkey(['serve'], {
    LATCHKEY_PORT: '0',
    LATCHKEY_HOST: '127.0.0.1',
    LATCHKEY_SHUTDOWN_TIMEOUT_MS: '5000',
    ...env,
    LATCHKEY_WORKERS: String(workers),
  });
  const listening = await run.waitForLog(/^latchkey is listening/);
  const port = Number(listening.port);
  const lines = () => parseLines(run.stdout());
  const waitForLine = async (match: (line: LogLine) => boolean) => {
    for (;;) {
      const found = lines().find(match);
      if (found) return found;
      if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`latchkey exited: ${run.stderr()}`);
      await sleep(50);
    }
  };
  return {
    process: run,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    lines,
    waitForLine,
    async workerOf(requestId) {
      const line = await waitForLine((l) => l.msg === 'request' && l.requestId === requestId);
      return line.worker!;
    },
  };
}

export interface Answer {
  status: number;
  requestId: string;
  body: Record<string, unknown>;
}

/** One HTTP/1.1 request; `agent` false opens a connection of its own (the cluster hands each new connection to the next worker). */
export function request(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  agent: http.Agent | false = false,
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method, headers, agent }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']), body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A keep-alive connection to one worker, found by opening connections until one lands on it. */
export interface Pinned {
  worker: number;
  agent: http.Agent;
  /** GET `path` on this connection, checking afterwards (see `verify`) that this worker answered. */
  get(path: string, headers: Record<string, string>): Promise<Answer>;
  /** A Connect client whose calls use this connection. */
  client<S extends DescService>(service: S, headers: Record<string, string>): Client<S>;
  /** Whether every request sent through `get` or `client` was served by `worker` (the connection never moved). */
  verify(): Promise<boolean>;
  close(): void;
}

/** One pinned connection per worker, in order of cluster id. */
export async function pinEveryWorker(run: ClusterRun, workers: number): Promise<Pinned[]> {
  const pinned = new Map<number, Pinned>();
  while (pinned.size < workers) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await request(run.baseUrl, '/healthz', {}, agent);
    const worker = await run.workerOf(first.requestId);
    if (pinned.has(worker)) {
      agent.destroy();
      continue;
    }
    const ids: string[] = [];
    pinned.set(worker, {
      worker,
      agent,
      async get(path, headers) {
        const answer = await request(run.baseUrl, path, headers, agent);
        ids.push(answer.requestId);
        return answer;
      },
      client: (service, headers) =>
        createClient(
          service,
          createConnectTransport({
            baseUrl: run.baseUrl,
            httpVersion: '1.1',
            nodeOptions: { agent },
            interceptors: [
              (next) => async (req) => {
                for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
                const res = await next(req);
                ids.push(String(res.header.get('x-request-id')));
                return res;
              },
            ],
          }),
        ),
      async verify() {
        for (const id of ids) if ((await run.workerOf(id)) !== worker) return false;
        return true;
      },
      close: () => agent.destroy(),
    });
  }
  return [...pinned.values()].sort((a, b) => a.worker - b.worker);
}
