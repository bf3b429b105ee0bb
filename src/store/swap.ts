/**
 * Column picking for compare-and-swap writes (src/domain/etag.ts explains the mechanism).
 *
 * An update writes only the columns of the fields it changes, plus the bookkeeping every write
 * replaces (`update_time`, `updater`, `etag`), and lands only where the row still has the etag
 * the write was computed from: `UPDATE … SET <those columns> WHERE <key> AND etag = <read etag>`.
 */

/** Bookkeeping columns every write replaces. */
const WRITE_COLUMNS = ['update_time', 'updater', 'etag'] as const;

/**
 * The columns of `row` that hold `fields` (update-mask paths in snake_case, equal to column names
 * unless `spread` says a field spans other columns), with the bookkeeping columns.
 */
export function changedColumns<R extends object>(
  row: R,
  fields: readonly string[],
  spread: Readonly<Record<string, readonly (keyof R & string)[]>> = {},
): Partial<R> {
  const out: Partial<R> = {};
  for (const field of [...fields, ...WRITE_COLUMNS]) {
    const columns = spread[field] ?? [field as keyof R & string];
    for (const column of columns) {
      if (!(column in row)) throw new Error(`no column ${column} for field ${field}`);
      out[column] = row[column];
    }
  }
  return out;
}
