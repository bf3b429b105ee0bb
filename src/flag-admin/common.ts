import { DomainError } from '../domain/errors.js';
import { checkUpdateMask } from '../domain/names.js';

/**
 * Called after every committed write, so this replica's flag catalog sees the change before the
 * write's response is sent. It must not reject: the write has already happened.
 */
export type AfterChange = () => Promise<void>;

export const NO_CATALOG: AfterChange = async () => undefined;

/** update_mask paths, with `*` (alone) meaning every updatable field (AIP-134). */
export function maskPaths(paths: readonly string[], updatable: readonly string[]): string[] {
  if (paths.length === 1 && paths[0] === '*') return [...updatable];
  return checkUpdateMask(paths, updatable);
}

/** FAILED_PRECONDITION naming what still uses a resource (at most 20 names in the message). */
export function inUse(reason: string, resource: string, users: { flags: string[]; credentials: string[] }, hint: string): DomainError {
  const list = (label: string, names: string[]) =>
    names.length === 0 ? [] : [`${label} ${names.slice(0, 20).join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`];
  const parts = [...list('flags', users.flags.map((id) => `flags/${id}`)), ...list('credentials', users.credentials)];
  return new DomainError('failed_precondition', reason, `${resource} is still used by ${parts.join(' and ')}; ${hint}`, {
    metadata: {
      resource,
      ...(users.flags.length > 0 ? { flags: users.flags.slice(0, 100).map((id) => `flags/${id}`).join(',') } : {}),
      ...(users.credentials.length > 0 ? { credentials: users.credentials.slice(0, 100).join(',') } : {}),
    },
  });
}
