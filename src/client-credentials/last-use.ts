import type { CredentialStore } from './model.js';

/**
 * Keeps `last_use_time` current without a database write per request: uses
 * are noted in memory and written once per credential every `flushMs`, and
 * on shutdown. The store writes a flush in small chunks with the event loop
 * turning between them (a flush may hold a million credentials), so one flush
 * can outlast the interval: the next waits for it rather than running beside it.
 */
export class LastUseTracker {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** The uses the running flush is writing, still answered by pendingUse until they are stored. */
  private writing: ReadonlyMap<string, Date> | undefined;

  constructor(private readonly store: CredentialStore) {}

  note(credentialName: string, time: Date): void {
    this.pending.set(credentialName, time);
  }

  /** The newest use not yet written, for readers that must not wait for a flush. */
  pendingUse(credentialName: string): Date | undefined {
    return this.pending.get(credentialName) ?? this.writing?.get(credentialName);
  }

  start(flushMs: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => {
      if (this.flushing === undefined) void this.flush().catch(onError);
    }, flushMs);
    this.timer.unref();
  }

  /** Writes every use noted so far, after any flush already running. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing.catch(() => undefined);
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.writing = batch;
    try {
      await this.store.recordLastUse(batch);
    } catch (err) {
      for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v); // keep for the next attempt
      throw err;
    } finally {
      this.writing = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
