/**
 * What the primary and its workers say to each other over the cluster IPC channel, besides the
 * rate-limit counts rate-limiter-flexible sends on its own channel. Each message names itself with
 * `latchkey`, so that the two kinds never mix.
 */
export type WorkerMessage =
  /** The worker serves the shared port. */
  | { latchkey: 'started'; port: number }
  /** The worker could not start; `message` is what the operator is shown. */
  | { latchkey: 'failed'; message: string }
  /** A failed-attempt budget was spent on this worker: the others refuse `key` too until `untilMs`. */
  | { latchkey: 'blocked'; key: string; untilMs: number };

/** From the primary: a block another worker found. */
export type PrimaryMessage = { latchkey: 'blocked'; key: string; untilMs: number };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  switch (m.latchkey) {
    case 'started':
      return typeof m.port === 'number';
    case 'failed':
      return typeof m.message === 'string';
    case 'blocked':
      return typeof m.key === 'string' && typeof m.untilMs === 'number';
    default:
      return false;
  }
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return isWorkerMessage(value) && value.latchkey === 'blocked';
}
