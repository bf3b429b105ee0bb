/**
 * How long the primary waits before replacing a worker that died. The first replacement after
 * a calm spell starts at once (a worker killed by the OOM killer should be back before clients
 * notice); each further death within `calmMs` of the previous one doubles the wait, up to
 * `maxMs`, so a worker that crashes as it starts (a store gone, a bad deploy) costs a start every
 * `maxMs` and not a CPU spinning on forks.
 */
export class RestartBackoff {
  private deaths = 0;
  private lastDeathMs = -Infinity;

  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 30_000,
    private readonly calmMs = 60_000,
  ) {}

  /** Records a death at `nowMs` and returns how long to wait before starting the replacement. */
  next(nowMs: number): number {
    this.deaths = nowMs - this.lastDeathMs > this.calmMs ? 1 : this.deaths + 1;
    this.lastDeathMs = nowMs;
    if (this.deaths === 1) return 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.deaths - 2));
  }
}
