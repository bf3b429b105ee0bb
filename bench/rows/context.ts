import type { Measured } from '../compare.js';
import type { Server } from '../processes.js';
import type { Row } from '../report.js';
import type { Stores } from '../stores.js';

/** What every row family gets: the stores, the servers of the whole run, and where rows go. */
export interface RunContext {
  stores: Stores;
  /** latchkey over the 200-flag store (LATCHKEY_WORKERS = BENCH_LATCHKEY_WORKERS). */
  latchkey: Server;
  http: Server;
  grpc: Server;
  rows: Row[];
  /** Figures later rows build on (e.g. the max rate the tails row takes 60 % of). */
  measured: Record<string, Measured>;
  /** Row families whose route failed its first real call, with why: their rows print as not available. */
  unavailable: Map<string, string>;
  log: (line: string) => void;
}
