import { randomBytes } from 'node:crypto';
import { DomainError } from './errors.js';

/** Resource ids (SPEC §1): chosen by the caller or generated. */
export const ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** A generated id: a letter then 15 base-36 characters (about 77 bits). */
export function generateId(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  let id = letters[bytes[0]! % 26]!;
  for (let i = 1; i < 16; i++) id += chars[bytes[i]! % 36];
  return id;
}

/** The caller's id if valid, a generated one if empty; INVALID_ARGUMENT otherwise. */
export function chooseId(requested: string, field: string): string {
  if (requested === '') return generateId();
  if (!isValidId(requested)) {
    throw new DomainError('invalid_argument', 'INVALID_ID', `${field} ${JSON.stringify(requested)} must match [a-z][a-z0-9-]{0,62}`, {
      fieldViolations: [{ field, description: 'must match [a-z][a-z0-9-]{0,62}' }],
    });
  }
  return requested;
}

/**
 * Parses `collection/{id}` (or a nested pattern such as
 * `clients/{client}/credentials/{credential}`) into its ids.
 */
export function parseName(name: string, collections: readonly string[], field = 'name'): string[] {
  const parts = name.split('/');
  const ok =
    parts.length === collections.length * 2 &&
    collections.every((c, i) => parts[i * 2] === c && isValidId(parts[i * 2 + 1] ?? ''));
  if (!ok) {
    const pattern = collections.map((c) => `${c}/{${c.replace(/s$/, '')}}`).join('/');
    throw new DomainError('invalid_argument', 'INVALID_NAME', `${field} ${JSON.stringify(name)} is not a valid resource name; expected ${pattern}`, {
      fieldViolations: [{ field, description: `expected ${pattern}` }],
    });
  }
  return collections.map((_, i) => parts[i * 2 + 1]!);
}

/**
 * A reference to a project or environment as callers write it: the id (`default`) or the
 * resource name (`projects/default`). Both spellings are accepted wherever one is referenced;
 * this returns the id (what is stored), and leaves anything else as it came for validation to
 * report.
 */
export function idOfReference(value: string, collection: 'projects' | 'environments'): string {
  const prefix = `${collection}/`;
  return value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

export function notFound(name: string): DomainError {
  return new DomainError('not_found', 'NOT_FOUND', `${name} not found`, { metadata: { resource: name } });
}

export function alreadyExists(name: string): DomainError {
  return new DomainError('already_exists', 'ALREADY_EXISTS', `${name} already exists`, { metadata: { resource: name } });
}

/** Validates update_mask paths against the fields a resource allows to change. */
export function checkUpdateMask(paths: readonly string[], updatable: readonly string[]): string[] {
  if (paths.length === 0) {
    throw new DomainError('invalid_argument', 'UPDATE_MASK_REQUIRED', `update_mask is required; updatable fields: ${updatable.join(', ')}`, {
      fieldViolations: [{ field: 'update_mask', description: `list the fields to change: ${updatable.join(', ')}` }],
    });
  }
  const bad = paths.filter((p) => !updatable.includes(p));
  if (bad.length > 0) {
    throw new DomainError('invalid_argument', 'UPDATE_MASK_INVALID', `update_mask names fields that cannot be updated: ${bad.join(', ')}; updatable fields: ${updatable.join(', ')}`, {
      fieldViolations: bad.map((p) => ({ field: `update_mask.paths`, description: `${p} cannot be updated` })),
    });
  }
  return [...new Set(paths)];
}
