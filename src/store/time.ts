/**
 * Timestamps are stored as ISO-8601 UTC text with milliseconds, always 24 characters
 * (`2026-11-23T09:00:00.000Z`), so that comparing the strings compares the times on every dialect.
 */

const DB_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** `date` as stored text. Throws a RangeError for an invalid date or a year outside 0000–9999. */
export function toDbTime(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError('invalid date');
  const text = date.toISOString();
  // Years outside 0000–9999 come out as `+012345-…` / `-000001-…` and would break string order.
  if (!DB_TIME.test(text)) throw new RangeError(`date out of storable range: ${text}`);
  return text;
}

/** Stored text back to a Date. Throws a RangeError for text that `toDbTime` would not produce. */
export function fromDbTime(text: string): Date {
  if (!DB_TIME.test(text)) throw new RangeError(`not a stored timestamp: ${JSON.stringify(text)}`);
  const date = new Date(text);
  // `new Date` accepts impossible dates such as 2026-02-30 by rolling them over; refuse those.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== text) {
    throw new RangeError(`not a stored timestamp: ${JSON.stringify(text)}`);
  }
  return date;
}

/** Nullable column convenience. */
export function toDbTimeOrNull(date: Date | null | undefined): string | null {
  return date == null ? null : toDbTime(date);
}

/** Nullable column convenience. */
export function fromDbTimeOrNull(text: string | null | undefined): Date | null {
  return text == null ? null : fromDbTime(text);
}
