import { timestampFromDate, timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';

/** Proto Timestamp ↔ Date, with undefined for absent values. */
export function ts(date: Date | null | undefined): Timestamp | undefined {
  return date ? timestampFromDate(date) : undefined;
}

export function dateOf(t: Timestamp | undefined): Date | undefined {
  return t ? timestampDate(t) : undefined;
}
