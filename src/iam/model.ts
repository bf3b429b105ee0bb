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
  update(record: ApiClientRecord): Promise<boolean>;
  /** Deletes the client and (by cascade) its access tokens; false when it did not exist. */
  delete(id: string): Promise<boolean>;
  /** Replaces the secret digest and ends every access token of the client, atomically. */
  replaceSecret(id: string, secretDigest: string, updateTime: Date, updater: string | null): Promise<boolean>;
  count(): Promise<number>;
  insertToken(token: AccessTokenRecord, createTime: Date): Promise<void>;
  /** The token and its client, when both still exist. */
  findToken(digest: string): Promise<{ token: AccessTokenRecord; client: ApiClientRecord } | undefined>;
  deleteExpiredTokens(now: Date): Promise<number>;
}
