import { MonotonicIds } from '../domain/monotonic-ids.js';
import type { Logger } from '../logging/logger.js';
import type { AuditRecord, AuditWriter } from './model.js';

export interface AuditLogOptions {
  /** Validation records held in memory at most; past that new ones are counted as overflow and reported. */
  maxQueue: number;
  /** Records written per insert. */
  batchSize: number;
  flushIntervalMs: number;
  /**
   * How long an admin change waits for its record to be written before it answers anyway. The
   * record is not dropped then: it stays queued (admin records are never shed) and is written
   * when the store answers again.
   */
  adminWaitMs: number;
}

const DEFAULTS: AuditLogOptions = { maxQueue: 100_000, batchSize: 1000, flushIntervalMs: 1000, adminWaitMs: 5000 };

type AdminRecord = Omit<AuditRecord, 'id'> & { kind: 'ADMIN_CHANGE' };
type ValidationRecord = Omit<AuditRecord, 'id'> & { kind: 'CREDENTIAL_VALIDATION' };

interface QueuedAdmin {
  record: AuditRecord;
  written: () => void;
}

/**
 * The audit trail's writer (SPEC §7), with two paths:
 *
 * - Credential validations (`record`) only append to an in-memory queue that a timer writes in
 *   batches, so no runtime request waits on the database. The queue is bounded: past `maxQueue`
 *   records are counted as overflow and reported, never dropped silently.
 * - Admin changes (`recordAdmin`) go to a queue of their own that is never shed, are written
 *   first, and the call that made the change waits for its record (up to `adminWaitMs`), so an
 *   admin change is never lost to validation traffic or to a full queue.
 *
 * A failed write keeps its batch for the next attempt (batches are idempotent), and `close()`
 * writes what is left within a deadline and says how many records it could not write.
 */
export class AuditLog {
  private admin: QueuedAdmin[] = [];
  private queue: AuditRecord[] = [];
  private overflowCount = 0;
  private reportedOverflow = 0;
  /** Strictly increasing within the process, so records of one millisecond keep their order. */
  private readonly ids = new MonotonicIds('a');
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly options: AuditLogOptions;

  constructor(
    private readonly writer: AuditWriter,
    private readonly logger: Logger,
    options: Partial<AuditLogOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** A credential validation: queued, written in the background. */
  record(record: ValidationRecord): void {
    if (this.queue.length >= this.options.maxQueue) {
      this.overflowCount++;
      return;
    }
    // Object.assign rather than `{ id, ...record }`: V8 copies a spread that follows other
    // properties one by one, which costs a third more on every request.
    this.queue.push(Object.assign({ id: this.ids.next(record.time) }, record));
    if (this.queue.length >= this.options.batchSize) void this.flush();
  }

  /** An admin change: resolves once its record is stored, or after `adminWaitMs` with the record still queued. */
  recordAdmin(record: AdminRecord): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn({ method: record.method, requestId: record.requestId }, 'audit store slow: answering an admin change before its audit record is written (it stays queued)');
        resolve();
      }, this.options.adminWaitMs);
      timer.unref();
      const written = () => {
        clearTimeout(timer);
        resolve();
      };
      this.admin.push({ record: Object.assign({ id: this.ids.next(record.time) }, record), written });
      void this.flush();
    });
  }

  /** Records not written yet (both paths). */
  get depth(): number {
    return this.admin.length + this.queue.length;
  }

  get overflow(): number {
    return this.overflowCount;
  }

  /** Writes everything queued so far: admin records first, then validations, one batch at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Logs validation records lost to a full queue since the last report. */
  private reportOverflow(): void {
    if (this.overflowCount > this.reportedOverflow) {
      this.logger.error({ overflow: this.overflowCount }, 'audit queue overflow: validation records were not written');
      this.reportedOverflow = this.overflowCount;
    }
  }

  private async drain(): Promise<void> {
    this.reportOverflow();
    while (this.admin.length + this.queue.length > 0) {
      const admin = this.admin.length > 0;
      const batch = admin ? this.admin.slice(0, this.options.batchSize).map((a) => a.record) : this.queue.slice(0, this.options.batchSize);
      try {
        await this.writer.insertBatch(batch);
      } catch (err) {
        this.logger.error({ err, pending: this.depth }, 'audit write failed; will retry');
        return;
      }
      if (admin) for (const a of this.admin.splice(0, batch.length)) a.written();
      else this.queue = this.queue.slice(batch.length);
      // A batch can take long on a slow store: overflow that happened meanwhile is reported now.
      this.reportOverflow();
    }
  }

  /**
   * Stops the timer and writes what is left, giving up after `timeoutMs` (SIGTERM must not hang
   * on a store that does not answer). Resolves to the number of records that were not written,
   * which it also logs.
   */
  async close(timeoutMs: number): Promise<number> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const writeAll = (async () => {
      // Another pass for records added while a flush ran, and one retry after a failed write.
      for (let i = 0; i < 3 && this.depth > 0; i++) await this.flush();
    })();
    await Promise.race([writeAll, deadline]);
    clearTimeout(timer);
    const pending = this.depth;
    if (pending > 0) {
      this.logger.error({ pending, admin: this.admin.length, validations: this.queue.length, timeoutMs }, 'audit records could not be written at shutdown');
    }
    return pending;
  }
}
