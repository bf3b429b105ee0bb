/**
 * The body of the audit writer thread (see threaded-audit-writer.ts): it opens its own connection
 * to the store and writes the batches the main thread sends (records, or counts), one at a time, in
 * the order sent.
 */
import type { MessagePort } from 'node:worker_threads';
import type { AuditRecord } from '../audit/model.js';
import type { CountBatch } from '../audit/validation-count.js';
import { KyselyAuditStore } from './audit-store.js';
import { openDatabase, type OpenDatabase } from './database.js';

export interface WriterThreadData {
  databaseUrl: string;
}

/** Main thread → writer thread. */
export type WriterRequest = { kind: 'write'; id: number; records: AuditRecord[] } | { kind: 'count'; id: number; batch: CountBatch } | { kind: 'close' };

/** Writer thread → main thread: whether the store opened, then one answer per write. */
export type WriterMessage =
  | { kind: 'started' }
  | { kind: 'failed'; error: string }
  | { kind: 'written'; id: number }
  | { kind: 'write-failed'; id: number; error: string };

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function runAuditWriterThread(port: MessagePort, data: WriterThreadData): Promise<void> {
  let database: OpenDatabase;
  try {
    // A small pool: batches are written one at a time.
    database = await openDatabase({ url: data.databaseUrl, poolSize: 2 });
  } catch (err) {
    port.postMessage({ kind: 'failed', error: describe(err) } satisfies WriterMessage);
    port.close();
    return;
  }
  const store = new KyselyAuditStore(database.db);
  let queue = Promise.resolve();
  port.on('message', (request: WriterRequest) => {
    queue = queue.then(async () => {
      if (request.kind === 'close') {
        await database.close();
        port.close();
        return;
      }
      try {
        if (request.kind === 'write') await store.insertBatch(request.records);
        else await store.writeCounts(request.batch);
        port.postMessage({ kind: 'written', id: request.id } satisfies WriterMessage);
      } catch (err) {
        port.postMessage({ kind: 'write-failed', id: request.id, error: describe(err) } satisfies WriterMessage);
      }
    });
  });
  port.postMessage({ kind: 'started' } satisfies WriterMessage);
}
