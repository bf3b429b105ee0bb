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
}

export interface AuditStore extends AuditWriter {
  /** Ordered by id (= time order; reversed with `newestFirst`), after `after` in that order, at most `limit`. */
  list(query: AuditQuery, after: string | undefined, limit: number): Promise<AuditRecord[]>;
  deleteOlderThan(time: Date): Promise<number>;
  /** Validations of one credential since `since`: counts by outcome, and the newest successful one. */
  usage(credential: string, since: Date): Promise<{ counts: Record<string, number>; lastOk: AuditRecord | undefined }>;
}
