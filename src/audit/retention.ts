import type { Logger } from '../logging/logger.js';
import type { AuditStore } from './model.js';

/**
 * How long the store remembers which count batches a writer applied. A batch is sent again only
 * by the process that cut it, right after a failed attempt; a day covers any outage it survives.
 */
const WRITER_MEMORY_MS = 24 * 3_600_000;

/**
 * Removes audit records and count records older than the retention period, in the background
 * (hourly, and once shortly after start), never on a request path.
 */
export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly retentionMs: number,
    private readonly now: () => Date,
    private readonly logger: Logger,
  ) {}

  async prune(): Promise<number> {
    const now = this.now().getTime();
    const removed = await this.store.deleteOlderThan(new Date(now - this.retentionMs));
    await this.store.forgetWritersBefore(new Date(now - WRITER_MEMORY_MS));
    if (removed > 0) this.logger.info({ removed, retentionMs: this.retentionMs }, 'removed audit records past retention');
    return removed;
  }

  start(intervalMs = 3_600_000): void {
    const run = () => void this.prune().catch((err: unknown) => this.logger.warn({ err }, 'audit retention pass failed; will retry'));
    this.first = setTimeout(run, 10_000);
    this.first.unref();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.first);
    clearInterval(this.timer);
  }
}
