/** Plain types of clients and their runtime credentials (SPEC §3); no secret, only digests. */
import type { ChangeRow } from '../changes/change-feed.js';

export type CredentialClass = 'PUBLISHABLE' | 'SECRET';
export type CredentialFormat = 'KEY_PAIR' | 'CLIENT_SECRET' | 'UNLEASH' | 'PUBLISHABLE_KEY' | 'SECRET_KEY' | 'IMPORTED';
export type CredentialState = 'ACTIVE' | 'REVOKED';

interface Audited {
  createTime: Date;
  updateTime: Date;
  creator: string | null;
  updater: string | null;
  /** AIP-154: replaced by every write; writes are compare-and-swap on it (src/domain/etag.ts). */
  etag: string;
}

export interface ClientRecord extends Audited {
  id: string;
  displayName: string;
  description: string;
  labels: Record<string, string>;
}

export interface RateLimit {
  requests: number;
  windowMs: number;
}

export interface CredentialRecord extends Audited {
  clientId: string;
  id: string;
  displayName: string;
  class: CredentialClass;
  format: CredentialFormat;
  /** The public `pk_…` half of a key pair. */
  publicId: string | null;
  environments: string[];
  /** Project ids, or `['*']` for all projects, present and future. */
  projects: string[];
  scopes: string[];
  allowedOrigins: string[];
  allowedIpRanges: string[];
  /** Null: the server default. */
  rateLimit: RateLimit | null;
  expireTime: Date | null;
  state: CredentialState;
  revokeTime: Date | null;
  lastUseTime: Date | null;
  secretHint: string;
  /**
   * When the newest secret that a rotation replaced stops working (the end of its grace period);
   * null when no rotation left one. Derived from the stored secrets, never written.
   */
  previousSecretExpireTime: Date | null;
}

export const credentialName = (c: { clientId: string; id: string }) => `clients/${c.clientId}/credentials/${c.id}`;
export const clientName = (clientId: string) => `clients/${clientId}`;
/** How change_log names a credential (`entity_key` of entity `credential`). */
export const credentialKey = (clientId: string, id: string) => `${clientId}/${id}`;

/** A stored secret of a credential: during a rotation's grace period a credential has two. */
export interface SecretRecord {
  digest: string;
  /** Set when a rotation started this secret's grace period. */
  expireTime: Date | null;
}

export interface CredentialStore {
  insertClient(client: ClientRecord): Promise<boolean>;
  getClient(id: string): Promise<ClientRecord | undefined>;
  listClients(after: string | undefined, limit: number): Promise<ClientRecord[]>;
  /**
   * Writes the `fields` (update-mask paths) of `client`, only if the stored etag is still
   * `expectedEtag`; false when it is not (or the client is gone).
   */
  updateClient(client: ClientRecord, fields: readonly string[], expectedEtag: string): Promise<boolean>;
  /** Deletes the client with its credentials and secrets; with `etag`, only while it is still that. */
  deleteClient(id: string, now: Date, etag?: string): Promise<boolean>;

  /** Inserts the credential with its first secret; false when the id or the secret is taken. */
  insertCredential(credential: CredentialRecord, secretDigest: string): Promise<'ok' | 'id_taken' | 'secret_taken'>;
  getCredential(clientId: string, id: string): Promise<CredentialRecord | undefined>;
  /** Ordered by (client id, id); `clientId` undefined lists every client's credentials. */
  listCredentials(clientId: string | undefined, after: string | undefined, limit: number): Promise<CredentialRecord[]>;
  /** Like updateClient: the `fields` of `credential`, only while its etag is still `expectedEtag`. */
  updateCredential(credential: CredentialRecord, fields: readonly string[], expectedEtag: string): Promise<boolean>;
  /**
   * Adds a new secret and limits every older secret to `oldSecretsExpire`, only while the
   * credential's etag is still `expectedEtag` (and stores `credential`'s hint and etag).
   */
  rotateSecret(credential: CredentialRecord, newDigest: string, oldSecretsExpire: Date, expectedEtag: string): Promise<boolean>;
  /** With `etag`, deletes only while the credential's etag is still that. */
  deleteCredential(clientId: string, id: string, now: Date, etag?: string): Promise<boolean>;

  /** The credential a secret digest belongs to, with that secret's own expiry. */
  findBySecretDigest(digest: string): Promise<{ credential: CredentialRecord; secret: SecretRecord } | undefined>;
  /** The highest change_log sequence number, where the credential cache starts following. */
  latestChange(): Promise<number>;
  /** change_log rows (ChangeFeed reads them to evict what other replicas changed). */
  changesSince(after: number, also: readonly number[]): Promise<ChangeRow[]>;
  /** Persists last-use times gathered in memory (one write per credential, not per request). */
  recordLastUse(uses: ReadonlyMap<string, Date>): Promise<void>;
}
