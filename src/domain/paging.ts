import { DomainError } from './errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface PageRequest {
  pageSize: number;
  /** The sort key after which the page starts; undefined for the first page. */
  after: string | undefined;
}

/**
 * AIP-158 paging with opaque keyset tokens: the token is the last sort key
 * of the previous page, bound to the listing it came from (`scope`) so that a
 * token from one listing or filter is refused by another.
 */
export function pageRequest(pageSize: number, pageToken: string, scope: string): PageRequest {
  if (!Number.isInteger(pageSize) || pageSize < 0) {
    throw new DomainError('invalid_argument', 'INVALID_PAGE_SIZE', 'page_size must be zero or positive', {
      fieldViolations: [{ field: 'page_size', description: 'must be zero or positive' }],
    });
  }
  const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  if (pageToken === '') return { pageSize: size, after: undefined };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const token = decoded as { s?: unknown; k?: unknown } | undefined;
  if (!token || token.s !== scope || typeof token.k !== 'string') {
    throw new DomainError('invalid_argument', 'INVALID_PAGE_TOKEN', 'page_token is not one this listing returned', {
      fieldViolations: [{ field: 'page_token', description: 'not a token returned by this listing with these filters' }],
    });
  }
  return { pageSize: size, after: token.k };
}

/** Given rows fetched with limit pageSize + 1, returns the page and the next token. */
export function pageOf<T>(rows: T[], request: PageRequest, keyOf: (row: T) => string, scope: string): { items: T[]; nextPageToken: string } {
  if (rows.length <= request.pageSize) return { items: rows, nextPageToken: '' };
  const items = rows.slice(0, request.pageSize);
  const last = items[items.length - 1]!;
  return { items, nextPageToken: Buffer.from(JSON.stringify({ s: scope, k: keyOf(last) })).toString('base64url') };
}
