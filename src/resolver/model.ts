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
