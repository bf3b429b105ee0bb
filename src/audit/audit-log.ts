import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { MonotonicIds } from '../domain/monotonic-ids.js';
import type { Logger } from '../logging/logger.js';
import type { AuditRecord, AuditWriter } from './model.js';
import { addTo, countIdOf, countOf, countTupleOf, minuteOf, sightingKeyOf, sightingsOf, type CountBatch, type ValidationCount } from './validation-count.js';

export interface AuditLogOptions {
  /**
   * Validation records held in memory at most (individual records, and open counts: one per
   * tuple and minute, however many validations it counts); past that new ones are counted as
   * overflow and reported. A validation added to a count that is already open never overflows.
   */
  maxQueue: number;
  /** Records (or counts) written per batch. */
  batchSize: number;
  flushIntervalMs: number;
  /**
   * How long an admin change waits for its record to be written before it answers anyway. The
   * record is not dropped then: it stays queued (admin records are never shed) and is written
   * when the store answers again.
   */
  adminWaitMs: number;
  /**
   * Credential addresses and origins remembered as already seen, so that their validations are
   * counted without asking the store whether they are a first use. Bounded: one forgotten is
   * asked about again (and the store, which knows every one ever seen, answers "seen").
   */
  knownSightings: number;
}

const DEFAULTS: AuditLogOptions = { maxQueue: 100_000, batchSize: 1000, flushIntervalMs: 1000, adminWaitMs: 5000, knownSightings: 100_000 };

type AdminRecord = Omit<AuditRecord, 'id'> & { kind: 'ADMIN_CHANGE' };
type ValidationRecord = Omit<AuditRecord, 'id'> & { kind: 'CREDENTIAL_VALIDATION' };

interface QueuedAdmin {
  record: AuditRecord;
  written: () => void;
}

/**
 * The audit trail's writer (SPEC §7), with two paths:
 *
 * - Credential validations (`record`) only touch memory, written in batches by a timer, so no
 *   runtime request waits on the database. Refusals are queued one by one. Successful ones are
 *   counted per credential, outcome, method, address, origin, user agent and minute (one open
 *   count per tuple and minute), except a credential's first use from an address or origin not
 *   remembered as seen: that one goes to the store as a first-use candidate, which keeps it
 *   individually when the store had never seen the address or origin for the credential, and
 *   counts it otherwise. Open counts are cut into a batch at every flush (the timer's, the
 *   minute's end included, a reader's, close), and the store adds them to the row of their tuple
 *   and minute, which every process shares. Memory is bounded: past `maxQueue` records and
 *   open counts, new ones are counted as overflow and reported, never dropped silently.
 * - Admin changes (`recordAdmin`) go to a queue of their own that is never shed, are written
 *   first, and the call that made the change waits for its record (up to `adminWaitMs`), so an
 *   admin change is never lost to validation traffic or to a full queue.
 *
 * A failed write keeps its batch for the next attempt (batches are idempotent: records by id,
 * count batches by this log's writer id and their sequence number), and `close()`
 * writes what is left within a deadline and says how many records it could not write.
 */
export class AuditLog {
  private admin: QueuedAdmin[] = [];
  private queue: AuditRecord[] = [];
  /** Open counts, by minute and tuple. */
  private counts = new Map<string, ValidationCount>();
  /** Successful validations that may be a credential's first use from their address or origin. */
  private firstUses: AuditRecord[] = [];
  /** Count batches cut and not acknowledged yet, oldest first; the first is retried until it is. */
  private readonly countBatches: CountBatch[] = [];
  private countBatchEntries = 0;
  /** Who this log is to the store, which applies each of its count batches once (validation-count.ts). */
  private readonly writerId = randomUUID();
  private seq = 0;
  private readonly knownSightings: LRUCache<string, true>;
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
    this.knownSightings = new LRUCache({ max: this.options.knownSightings });
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** A credential validation: queued or counted, written in the background. */
  record(record: ValidationRecord): void {
    if (record.outcome === 'OK' && record.credential !== null) {
      this.count(record);
      return;
    }
    if (this.held >= this.options.maxQueue) {
      this.overflowCount++;
      return;
    }
    // Object.assign rather than `{ id, ...record }`: V8 copies a spread that follows other
    // properties one by one, which costs a third more on every request.
    this.queue.push(Object.assign({ id: this.ids.next(record.time) }, record));
    if (this.queue.length >= this.options.batchSize) void this.flush();
  }

  private count(record: ValidationRecord): void {
    if (this.isPossibleFirstUse(record)) {
      if (this.held >= this.options.maxQueue) {
        this.overflowCount++;
        return;
      }
      for (const s of sightingsOf(record)) this.knownSightings.set(sightingKeyOf(s), true);
      this.firstUses.push(Object.assign({ id: this.ids.next(record.time) }, record));
      if (this.firstUses.length + this.counts.size >= this.options.batchSize) void this.flush();
      return;
    }
    const minute = minuteOf(record.time);
    const tuple = countTupleOf(record);
    const key = `${minute}\n${tuple}`;
    const open = this.counts.get(key);
    if (open !== undefined) {
      addTo(open, record.time);
      return;
    }
    if (this.held >= this.options.maxQueue) {
      this.overflowCount++;
      return;
    }
    this.counts.set(key, countOf(record, minute, countIdOf(minute, tuple)));
    if (this.firstUses.length + this.counts.size >= this.options.batchSize) void this.flush();
  }

  /**
   * Whether the address or the origin is not remembered as seen with this credential. Keys spelled
   * as sightingKeyOf spells them, without building the sightings: this runs on every success.
   */
  private isPossibleFirstUse(record: ValidationRecord): boolean {
    if (record.clientAddress && this.knownSightings.get(`${record.credential}\naddress\n${record.clientAddress}`) === undefined) return true;
    return !!record.origin && this.knownSightings.get(`${record.credential}\norigin\n${record.origin}`) === undefined;
  }

  /** Validation entries in memory: individual records, open counts, first-use candidates, cut count batches. */
  private get held(): number {
    return this.queue.length + this.counts.size + this.firstUses.length + this.countBatchEntries;
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

  /** Records not written yet (both paths; an open count is one record). */
  get depth(): number {
    return this.admin.length + this.held;
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
    for (;;) {
      try {
        if (this.admin.length > 0) {
          const batch = this.admin.slice(0, this.options.batchSize).map((a) => a.record);
          await this.writer.insertBatch(batch);
          for (const a of this.admin.splice(0, batch.length)) a.written();
        } else if (this.queue.length > 0) {
          const batch = this.queue.slice(0, this.options.batchSize);
          await this.writer.insertBatch(batch);
          this.queue = this.queue.slice(batch.length);
        } else if (this.countBatches.length > 0) {
          const batch = this.countBatches[0]!;
          await this.writer.writeCounts(batch);
          this.countBatches.shift();
          this.countBatchEntries -= batch.counts.length + batch.firstUses.length;
        } else if (this.counts.size + this.firstUses.length > 0) {
          this.cutCounts();
        } else {
          return;
        }
      } catch (err) {
        this.logger.error({ err, pending: this.depth }, 'audit write failed; will retry');
        return;
      }
      // A batch can take long on a slow store: overflow that happened meanwhile is reported now.
      this.reportOverflow();
    }
  }

  /** Moves the open counts and first-use candidates into count batches, each with the next sequence number. */
  private cutCounts(): void {
    const counts = [...this.counts.values()];
    const firstUses = this.firstUses;
    this.counts = new Map();
    this.firstUses = [];
    const size = this.options.batchSize;
    // Batches of `size` entries out of counts followed by first uses.
    for (let i = 0; i < counts.length + firstUses.length; i += size) {
      const batch: CountBatch = {
        writer: this.writerId,
        seq: ++this.seq,
        counts: counts.slice(i, i + size),
        firstUses: firstUses.slice(Math.max(0, i - counts.length), Math.max(0, i + size - counts.length)),
      };
      this.countBatches.push(batch);
      this.countBatchEntries += batch.counts.length + batch.firstUses.length;
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
      this.logger.error({ pending, admin: this.admin.length, validations: this.held, timeoutMs }, 'audit records could not be written at shutdown');
    }
    return pending;
  }
}
