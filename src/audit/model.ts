import type { AuditEntry, CountBatch } from './validation-count.js';

export type AuditKind = 'ADMIN_CHANGE' | 'CREDENTIAL_VALIDATION';

/** One audit record (SPEC §7). Never holds a secret: unknown secrets appear only as a digest prefix. */
export interface AuditRecord {
  id: string;
  kind: AuditKind;
  time: Date;
  /** `apiClients/{id}` for admin changes; the credential name for validations; null when unknown. */
  actor: string | null;
  method: string;
  resource: string | null;
  /** `OK`, or the refusal reason / code name. */
  outcome: string;
  requestId: string | null;
  clientAddress: string | null;
  origin: string | null;
  userAgent: string | null;
  credential: string | null;
  client: string | null;
  digestPrefix: string | null;
}

export interface AuditQuery {
  kind?: AuditKind;
  actor?: string;
  resource?: string;
  credential?: string;
  client?: string;
  outcome?: string;
  startTime?: Date;
  endTime?: Date;
  /** Newest first; oldest first by default. */
  newestFirst?: boolean;
}

/** Where the audit log writes its batches. */
export interface AuditWriter {
  /**
   * Writes a batch atomically. Idempotent: records whose id is already stored are skipped, so a
   * batch may be sent again when the answer to an earlier attempt was lost.
   */
  insertBatch(records: readonly AuditRecord[]): Promise<void>;
  /**
   * Adds a batch of validation counts, and keeps its first uses (validation-count.ts), atomically
   * and at most once per `(writer, seq)`: a batch sent again is skipped.
   */
  writeCounts(batch: CountBatch): Promise<void>;
}

/** Where and when a credential was last used successfully. */
export interface LastSuccess {
  time: Date;
  clientAddress: string | null;
  origin: string | null;
}

export interface AuditStore extends AuditWriter {
  /**
   * Individual records and count records merged in one order: by `sortKeyOf(id)` (= time order;
   * reversed with `newestFirst`), after the entry with id `after` in that order, at most `limit`.
   */
  list(query: AuditQuery, after: string | undefined, limit: number): Promise<AuditEntry[]>;
  /** Removes individual records before `time`, and count records of minutes that ended by then. */
  deleteOlderThan(time: Date): Promise<number>;
  /**
   * Validations of one credential since `since`, individual and counted: the number per outcome
   * (a count record is included whole when its last validation is in the window), and the newest success.
   */
  usage(credential: string, since: Date): Promise<{ counts: Record<string, number>; lastOk: LastSuccess | undefined }>;
  /** Forgets which batches writers that last wrote before `time` applied (they are long gone). */
  forgetWritersBefore(time: Date): Promise<number>;
}
