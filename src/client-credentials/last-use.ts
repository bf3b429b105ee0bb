import type { CredentialStore } from './model.js';

/**
 * Keeps `last_use_time` current without a database write per request: uses
 * are noted in memory and written once per credential every `flushMs`, and
 * on shutdown.
 */
export class LastUseTracker {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: CredentialStore) {}

  note(credentialName: string, time: Date): void {
    this.pending.set(credentialName, time);
  }

  /** The newest use not yet written, for readers that must not wait for a flush. */
  pendingUse(credentialName: string): Date | undefined {
    return this.pending.get(credentialName);
  }

  start(flushMs: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => void this.flush().catch(onError), flushMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.recordLastUse(batch);
    } catch (err) {
      for (const [k, v] of batch) if (!this.pending.has(k)) this.pending.set(k, v); // keep for the next attempt
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
