/**
 * Follows the change_log table, through which every replica learns of the others' writes (each
 * write appends a row in its own transaction; the in-memory caches read the rows and reload or
 * drop exactly the entities they name).
 *
 * The one subtlety: on PostgreSQL a sequence number is taken when a row is inserted but becomes
 * visible only when its transaction commits, so a reader can see seq 11 before seq 10. Following
 * "the highest number seen" would skip 10 forever, and with it, say, a revocation. So the feed
 * remembers every number below its position that it has not seen (a gap) and asks for those again
 * on each read, until they appear or are old enough to be a rolled-back transaction, whose number
 * never appears. On SQLite writes are serialised and numbers commit in order; the same code runs.
 */

export interface ChangeRow {
  seq: number;
  /** What changed: `credential`, `client`, `flag`, `project`, `environment` … */
  entity: string;
  /** Which one, e.g. the flag id or `<client>/<credential>`. */
  entityKey: string;
}

export interface ChangeSource {
  /** Every change_log row (of every entity) with seq > `after` or in `also`, in seq order. */
  changesSince(after: number, also: readonly number[]): Promise<ChangeRow[]>;
}

/**
 * How long a gap is watched. A transaction that holds its sequence number longer than this before
 * committing would be missed; latchkey's write transactions take milliseconds.
 */
export const GAP_WATCH_MS = 60_000;
/** When starting, how many sequence numbers below the start are checked for gaps. */
const START_LOOKBACK = 256;

export class ChangeFeed {
  private lastSeq = 0;
  /** Sequence numbers below `lastSeq` not seen yet, with when they were first missed. */
  private gaps = new Map<number, number>();

  constructor(
    private readonly source: ChangeSource,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Starts following after `seq` (the position a snapshot reflects). Numbers just below it that
   * are not visible yet may be transactions still committing: they are watched as gaps.
   */
  async startAt(seq: number): Promise<void> {
    this.lastSeq = seq;
    this.gaps = new Map();
    const recent = await this.source.changesSince(Math.max(0, seq - START_LOOKBACK), []);
    const seen = new Set(recent.map((r) => r.seq));
    const t = this.clock();
    for (let s = Math.max(1, seq - START_LOOKBACK + 1); s <= seq; s++) if (!seen.has(s)) this.gaps.set(s, t);
  }

  /** The rows committed since the last call, late commits below the position included, in seq order. */
  async next(): Promise<ChangeRow[]> {
    const rows = await this.source.changesSince(this.lastSeq, [...this.gaps.keys()]);
    const t = this.clock();
    let expected = this.lastSeq + 1;
    const fresh: ChangeRow[] = [];
    for (const row of rows) {
      if (this.gaps.delete(row.seq)) {
        fresh.push(row); // a late commit below the position
      } else if (row.seq > this.lastSeq) {
        for (let s = expected; s < row.seq; s++) this.gaps.set(s, t);
        expected = row.seq + 1;
        this.lastSeq = row.seq;
        fresh.push(row);
      }
    }
    for (const [s, since] of this.gaps) if (t - since > GAP_WATCH_MS) this.gaps.delete(s);
    return fresh;
  }

  /** The newest sequence number seen. */
  get position(): number {
    return this.lastSeq;
  }
}
