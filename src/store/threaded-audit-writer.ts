import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditRecord, AuditWriter } from '../audit/model.js';
import type { CountBatch } from '../audit/validation-count.js';
import type { WriterMessage, WriterRequest, WriterThreadData } from './audit-writer-thread.js';
import { parseDatabaseUrl } from './database.js';

/**
 * Loads the thread body through tsx, as bin/latchkey.js loads the server: the repository runs its
 * TypeScript sources directly, and a worker does not inherit the main thread's module hooks.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.tsx);
require(workerData.entry).runAuditWriterThread(parentPort, workerData.data);
`;

export interface ClosableAuditWriter extends AuditWriter {
  /** Lets a batch in progress finish for at most `timeoutMs`, then stops. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The audit writer for a database URL: a writer thread with its own connection, except for an
 * in-memory SQLite database, which exists only inside its one connection and is written in-process.
 */
export async function startAuditWriter(databaseUrl: string, inProcess: AuditWriter): Promise<ClosableAuditWriter> {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.dialect === 'sqlite' && target.path === ':memory:') {
    return { insertBatch: (records) => inProcess.insertBatch(records), writeCounts: (batch) => inProcess.writeCounts(batch), close: async () => undefined };
  }
  return ThreadedAuditWriter.start(databaseUrl);
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Writes audit batches on a worker thread, so that the SQL (binding a few thousand parameters,
 * updating four B-trees per row, SQLite's synchronous I/O) stays off the thread that serves
 * requests: SPEC §7 wants the audit trail written off the request path, and better-sqlite3 runs
 * synchronously, so on the serving thread a batch of 1000 rows stalled every call in flight for
 * 10–18 ms.
 *
 * A thread that stops (a crash, an out-of-memory kill) fails the batches it held; AuditLog keeps
 * them and sends them again, and the next batch starts a new thread. Batches are idempotent
 * (AuditWriter), so one that committed before its answer was lost is not stored twice.
 */
export class ThreadedAuditWriter implements ClosableAuditWriter {
  private thread: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  private constructor(private readonly databaseUrl: string) {}

  /** Starts the thread and waits until it has opened the store, so that a bad store fails start-up. */
  static async start(databaseUrl: string): Promise<ThreadedAuditWriter> {
    const writer = new ThreadedAuditWriter(databaseUrl);
    await writer.running();
    return writer;
  }

  async insertBatch(records: readonly AuditRecord[]): Promise<void> {
    if (this.closed) throw new Error('the audit writer is closed');
    if (records.length === 0) return;
    await this.send((id) => ({ kind: 'write', id, records: records as AuditRecord[] }));
  }

  async writeCounts(batch: CountBatch): Promise<void> {
    if (this.closed) throw new Error('the audit writer is closed');
    if (batch.counts.length === 0 && batch.firstUses.length === 0) return;
    await this.send((id) => ({ kind: 'count', id, batch }));
  }

  private async send(request: (id: number) => WriterRequest): Promise<void> {
    const worker = await this.running();
    const id = ++this.nextId;
    await new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced while a batch is out, so the process waits for its answer (at shutdown, too).
      worker.ref();
      worker.postMessage(request(id));
    });
  }

  /**
   * Lets the thread finish the batches it holds, closes its connection and waits for it to exit;
   * a thread stuck on a store that does not answer is terminated after `timeoutMs` (AuditLog
   * still holds, and reports, the records of a batch that did not complete).
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = await this.thread?.catch(() => undefined);
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    const timer = setTimeout(() => void worker.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private running(): Promise<Worker> {
    this.thread ??= this.spawn().catch((err: unknown) => {
      this.thread = undefined;
      throw err;
    });
    return this.thread;
  }

  private spawn(): Promise<Worker> {
    const workerData = {
      tsx: require.resolve('tsx/cjs'),
      entry: join(__dirname, 'audit-writer-thread.ts'),
      data: { databaseUrl: this.databaseUrl } satisfies WriterThreadData,
    };
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData });
    return new Promise<Worker>((resolve, reject) => {
      let started = false;
      let crash: Error | undefined;
      worker.on('message', (message: WriterMessage) => {
        switch (message.kind) {
          case 'started':
            started = true;
            worker.unref();
            resolve(worker);
            return;
          case 'failed':
            reject(new Error(`the audit writer thread cannot open the store: ${message.error}`));
            return;
          case 'written':
          case 'write-failed': {
            const pending = this.pending.get(message.id);
            this.pending.delete(message.id);
            if (this.pending.size === 0) worker.unref();
            if (message.kind === 'written') pending?.resolve();
            else pending?.reject(new Error(`audit batch not written: ${message.error}`));
            return;
          }
        }
      });
      worker.on('error', (err) => {
        crash = err;
      });
      worker.on('exit', (code) => {
        const reason = new Error(`the audit writer thread stopped (exit code ${code}${crash ? `: ${crash.message}` : ''})`);
        if (!started) reject(reason);
        for (const pending of this.pending.values()) pending.reject(reason);
        this.pending.clear();
        // The next batch starts a new thread (unless this was close()).
        if (this.thread && started) this.thread = undefined;
      });
    });
  }
}
