/** An API client as the domain sees it (no secret: only its digest). */
export interface ApiClientRecord {
  id: string;
  clientId: string;
  secretDigest: string;
  displayName: string;
  description: string;
  labels: Record<string, string>;
  roles: string[];
  permissions: string[];
  createTime: Date;
  updateTime: Date;
  creator: string | null;
  updater: string | null;
  /** AIP-154: replaced by every write; writes are compare-and-swap on it (src/domain/etag.ts). */
  etag: string;
  /** Grows by one with every secret rotation; an access token is valid only under the generation it was issued in. */
  secretGeneration: number;
}

export interface AccessTokenRecord {
  digest: string;
  apiClientId: string;
  expireTime: Date;
}

/** Storage the IAM domain needs; implemented over Kysely in src/store. */
export interface ApiClientStore {
  /** Inserts; returns false when the id or client id is taken. */
  insert(record: ApiClientRecord): Promise<boolean>;
  get(id: string): Promise<ApiClientRecord | undefined>;
  getByClientId(clientId: string): Promise<ApiClientRecord | undefined>;
  /** Ordered by id, after `after`, at most `limit`. */
  list(after: string | undefined, limit: number): Promise<ApiClientRecord[]>;
  /**
   * Writes the `fields` (update-mask paths) of `record`, only if the stored etag is still
   * `expectedEtag`; false when it is not (or the client is gone).
   */
  update(record: ApiClientRecord, fields: readonly string[], expectedEtag: string): Promise<boolean>;
  /**
   * Deletes the client and (by cascade) its access tokens; false when it did not exist (or, with
   * `etag`, no longer has that etag).
   */
  delete(id: string, etag?: string): Promise<boolean>;
  /**
   * Replaces the secret digest, starts the next secret generation and ends every access token of
   * the client, atomically. Returns the client as stored afterwards (undefined when it is gone).
   */
  replaceSecret(id: string, secretDigest: string, updateTime: Date, updater: string | null, etag: string): Promise<ApiClientRecord | undefined>;
  count(): Promise<number>;
  /**
   * Inserts `record` only when there is no API client at all (the first start's admin), then runs
   * `beforeCommit` inside the same transaction: when it throws, nothing is stored. False when the
   * table was not empty or a concurrent first start's insert won (that one is stored instead).
   */
  insertFirst(record: ApiClientRecord, beforeCommit: () => Promise<void>): Promise<boolean>;
  /**
   * Replaces the client id, secret digest, roles and permissions of `record.id` only if its etag
   * is still `expectedEtag`, starts the next secret generation and ends every access token of the
   * client, atomically. 'conflict' when the etag no longer matches (or the client is gone),
   * 'client-id-taken' when another API client has `record.clientId`.
   */
  rekey(record: ApiClientRecord, expectedEtag: string): Promise<'ok' | 'conflict' | 'client-id-taken'>;
  /**
   * Runs `fn` in a transaction holding the administrators lock, with a store bound to that
   * transaction. Every write that can take `roles/admin` away from an API client (a delete, a
   * change of roles) runs under it, so two of them never both decide they leave an admin behind.
   */
  withAdminLock<T>(fn: (store: ApiClientStore) => Promise<T>): Promise<T>;
  /** How many API clients other than `exceptId` hold `role` (as read now, committed changes included). */
  countHolders(role: string, exceptId: string): Promise<number>;
  /**
   * Stores an access token for the client `token.apiClientId`, under its current secret
   * generation, only if its secret is still the one with digest `secretDigest` (what the exchange
   * verified). False when the client is gone or its secret changed since.
   */
  insertToken(token: AccessTokenRecord, secretDigest: string, createTime: Date): Promise<boolean>;
  /** The token and its client, when both still exist and the token's secret generation is the client's current one. */
  findToken(digest: string): Promise<{ token: AccessTokenRecord; client: ApiClientRecord } | undefined>;
  deleteExpiredTokens(now: Date): Promise<number>;
}
