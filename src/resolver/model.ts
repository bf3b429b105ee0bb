import type { JsonValue } from '../flags/model.js';

export type ResolveReason =
  | 'MATCH'
  | 'DEFAULT'
  | 'NO_RULE_MATCH'
  | 'FLAG_ARCHIVED'
  | 'FLAG_NOT_FOUND'
  | 'TARGETING_KEY_ERROR'
  | 'TYPE_MISMATCH'
  | 'ERROR';

export interface ResolvedFlag {
  /** `flags/{id}` as asked for (or as listed when every flag was asked for). */
  flag: string;
  variant: string | undefined;
  value: JsonValue | undefined;
  reason: ResolveReason;
  errorMessage: string | undefined;
  /** Name of the rule that decided the variant; set for MATCH only (OFREP tells a split from a full allocation by it). */
  rule?: string;
}

/**
 * Whether a resolved flag can never change, so that what is derived from it (messages, encodings)
 * can be kept keyed by the object: the resolver's answers are frozen and shared (SERVED_ANSWERS in
 * flag-resolver.ts), and so are the variant values they hold (deeply: src/flags/json.ts
 * `frozenCopy`). An answer built per request (FLAG_NOT_FOUND) is not frozen.
 */
export function isImmutableAnswer(r: ResolvedFlag): boolean {
  const v = r.value;
  return Object.isFrozen(r) && (typeof v !== 'object' || v === null || Object.isFrozen(v));
}

/** An exposure: a resolved value the application actually used (ApplyFlags). */
export interface FlagApply {
  id: string;
  resolveId: string;
  flag: string;
  variant: string | null;
  credential: string;
  applyTime: Date;
  receiveTime: Date;
}

export interface FlagApplyStore {
  /**
   * Records exposures, at most one per `(resolveId, flag)`: a repeat of one already stored is
   * ignored. Resolves to how many were new.
   */
  insert(applies: readonly FlagApply[]): Promise<number>;
}
