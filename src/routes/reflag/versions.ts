/**
 * Reflag's `flagStateVersion`: the change_log position at which this replica's flag catalog last
 * applied a change of flags, environments or projects (FlagCatalog.flagStateVersion). Other
 * writes (a credential created, an API client changed) do not move it, so they send no SDK
 * refetching. It never decreases on a replica and survives restarts (the catalog starts at the
 * newest sequence number in the database, which never goes back), and is the same on every
 * replica that has applied the same changes, so an SDK told "version N" by one replica can ask
 * another, which has it once its change log has reached N.
 *
 * `waitForVersion=N` (the SDKs send it after a `flags-updated` push): a replica that has applied
 * N answers at once. One that has not reads the change log at once (the refresh it otherwise runs
 * every 500 ms): a version that another replica announced has committed, so the replica then has
 * it. A version no replica has committed (or a refresh that fails or takes longer than
 * MAX_WAIT_MS) is answered with the current version; the SDKs then keep what they have and wait
 * for the next push.
 */
import { DomainError } from '../../domain/errors.js';

export interface VersionedCatalog {
  readonly position: number;
  readonly flagStateVersion: number;
  refresh(): Promise<void>;
}

/** Bound on a `waitForVersion` wait (the browser SDK gives up on a request after 5 s). */
export const MAX_WAIT_MS = 3_000;

/** The `waitForVersion` parameter: undefined when absent; a DomainError when not a non-negative integer. */
export function parseWaitForVersion(params: URLSearchParams): number | undefined {
  const raw = params.get('waitForVersion');
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new DomainError('invalid_argument', 'INVALID_ARGUMENT', `waitForVersion must be a flag state version (a non-negative integer); got ${JSON.stringify(raw.slice(0, 40))}`, {
      fieldViolations: [{ field: 'waitForVersion', description: 'must be a non-negative integer' }],
    });
  }
  return Number(raw);
}

/** Whether the catalog reflects `version`: it has read the change log that far (flagStateVersion never exceeds it). */
function hasApplied(catalog: VersionedCatalog, version: number): boolean {
  return catalog.position >= version;
}

/** Resolves once the catalog has applied `version`, or after one refresh (bounded by MAX_WAIT_MS). Never rejects. */
export async function waitForVersion(catalog: VersionedCatalog, version: number | undefined, maxWaitMs = MAX_WAIT_MS): Promise<void> {
  if (version === undefined || hasApplied(catalog, version)) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, maxWaitMs);
    timer.unref();
  });
  try {
    await Promise.race([catalog.refresh().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
