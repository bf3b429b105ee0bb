import type { ExpressionBuilder, Kysely, Selectable, Transaction } from 'kysely';
import { credentialKey, type ClientRecord, type CredentialRecord, type CredentialStore, type SecretRecord } from '../client-credentials/model.js';
import type { ClientCredentialsTable, ClientsTable, Database } from './schema.js';
import { fromDbTime, fromDbTimeOrNull, toDbTime, toDbTimeOrNull } from './time.js';
import { changesSince, latestChange, recordChange } from './change-log.js';
import { changedColumns } from './swap.js';
import { isUniqueViolation } from './unique-violation.js';
import type { NativeDatabase } from './database.js';
import { LAST_USE_CHUNK, prepareCredentialQueries, type DigestRow, type LastUseRow, type PreparedCredentialQueries } from './prepared-credential-queries.js';

function clientFromRow(r: Selectable<ClientsTable>): ClientRecord {
  return {
    id: r.id,
    displayName: r.display_name,
    description: r.description,
    labels: JSON.parse(r.labels) as Record<string, string>,
    createTime: fromDbTime(r.create_time),
    updateTime: fromDbTime(r.update_time),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
  };
}

function clientToRow(c: ClientRecord): Selectable<ClientsTable> {
  return {
    id: c.id,
    display_name: c.displayName,
    description: c.description,
    labels: JSON.stringify(c.labels),
    create_time: toDbTime(c.createTime),
    update_time: toDbTime(c.updateTime),
    creator: c.creator,
    updater: c.updater,
    etag: c.etag,
  };
}

/** A credential row with the grace end of its newest replaced secret (see previousSecretExpiry). */
type CredentialRow = Selectable<ClientCredentialsTable> & { previous_secret_expire_time: string | null };

/**
 * The newest expire_time among a credential's secrets: a rotation sets one on every secret it
 * replaces and none on the new one, so this is when the secret the last rotation replaced stops.
 */
function previousSecretExpiry(eb: ExpressionBuilder<Database, 'client_credentials'>) {
  return eb
    .selectFrom('credential_secrets as s')
    .select((s) => s.fn.max('s.expire_time').as('t'))
    .whereRef('s.client_id', '=', 'client_credentials.client_id')
    .whereRef('s.credential_id', '=', 'client_credentials.id')
    .as('previous_secret_expire_time');
}

function credentialFromRow(r: CredentialRow): CredentialRecord {
  return {
    clientId: r.client_id,
    id: r.id,
    displayName: r.display_name,
    class: r.class,
    format: r.format as CredentialRecord['format'],
    publicId: r.public_id,
    environments: JSON.parse(r.environments) as string[],
    projects: JSON.parse(r.projects) as string[],
    scopes: JSON.parse(r.scopes) as string[],
    allowedOrigins: JSON.parse(r.allowed_origins) as string[],
    allowedIpRanges: JSON.parse(r.allowed_ip_ranges) as string[],
    rateLimit: r.rate_limit_requests !== null && r.rate_limit_window_ms !== null ? { requests: r.rate_limit_requests, windowMs: r.rate_limit_window_ms } : null,
    expireTime: fromDbTimeOrNull(r.expire_time),
    state: r.state,
    revokeTime: fromDbTimeOrNull(r.revoke_time),
    lastUseTime: fromDbTimeOrNull(r.last_use_time),
    secretHint: r.secret_hint,
    previousSecretExpireTime: fromDbTimeOrNull(r.previous_secret_expire_time),
    createTime: fromDbTime(r.create_time),
    updateTime: fromDbTime(r.update_time),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
  };
}

function credentialToRow(c: CredentialRecord): Selectable<ClientCredentialsTable> {
  return {
    client_id: c.clientId,
    id: c.id,
    display_name: c.displayName,
    class: c.class,
    format: c.format,
    public_id: c.publicId,
    environments: JSON.stringify(c.environments),
    projects: JSON.stringify(c.projects),
    scopes: JSON.stringify(c.scopes),
    allowed_origins: JSON.stringify(c.allowedOrigins),
    allowed_ip_ranges: JSON.stringify(c.allowedIpRanges),
    rate_limit_requests: c.rateLimit?.requests ?? null,
    rate_limit_window_ms: c.rateLimit?.windowMs ?? null,
    expire_time: toDbTimeOrNull(c.expireTime),
    state: c.state,
    revoke_time: toDbTimeOrNull(c.revokeTime),
    last_use_time: toDbTimeOrNull(c.lastUseTime),
    secret_hint: c.secretHint,
    create_time: toDbTime(c.createTime),
    update_time: toDbTime(c.updateTime),
    creator: c.creator,
    updater: c.updater,
    etag: c.etag,
  };
}

/** Credential fields stored in more than one column. */
const CREDENTIAL_SPREAD = { rate_limit: ['rate_limit_requests', 'rate_limit_window_ms'] } as const;

/**
 * Clients, credentials and their secret digests. Every write also appends to
 * change_log in the same transaction, which other replicas poll to drop their
 * cached credentials (revocation reaches every replica within a second).
 */
export class KyselyCredentialStore implements CredentialStore {
  private readonly prepared: PreparedCredentialQueries;

  /** `native` is the connection (or pool) beneath `db`, for the prepared digest lookup and last-use writes. */
  constructor(
    private readonly db: Kysely<Database>,
    native: NativeDatabase,
  ) {
    const lookup = this.digestQuery('');
    this.prepared = prepareCredentialQueries(native, lookup.compile().sql, (digest) => this.digestQuery(digest).executeTakeFirst());
  }

  /** The digest lookup; compiled once for the prepared statement, and run as is only as its fallback. */
  private digestQuery(digest: string) {
    return this.db
      .selectFrom('credential_secrets')
      .innerJoin('client_credentials', (j) =>
        j.onRef('client_credentials.client_id', '=', 'credential_secrets.client_id').onRef('client_credentials.id', '=', 'credential_secrets.credential_id'),
      )
      .selectAll('client_credentials')
      .select(['credential_secrets.digest as secret_digest', 'credential_secrets.expire_time as secret_expire_time'])
      .select(previousSecretExpiry)
      .where('credential_secrets.digest', '=', digest);
  }

  private changed(tx: Transaction<Database>, entity: 'credential' | 'client', key: string, now: Date) {
    return recordChange(tx, entity, key, now);
  }

  async insertClient(client: ClientRecord) {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('clients').values(clientToRow(client)).execute();
        await this.changed(tx, 'client', client.id, client.createTime);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async getClient(id: string) {
    const row = await this.db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
    return row && clientFromRow(row);
  }

  async listClients(after: string | undefined, limit: number) {
    let q = this.db.selectFrom('clients').selectAll().orderBy('id').limit(limit);
    if (after !== undefined) q = q.where('id', '>', after);
    return (await q.execute()).map(clientFromRow);
  }

  async updateClient(client: ClientRecord, fields: readonly string[], expectedEtag: string) {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('clients')
        .set(changedColumns(clientToRow(client), fields))
        .where('id', '=', client.id)
        .where('etag', '=', expectedEtag)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return false;
      await this.changed(tx, 'client', client.id, client.updateTime);
      return true;
    });
  }

  async deleteClient(id: string, now: Date, etag?: string) {
    return this.db.transaction().execute(async (tx) => {
      let q = tx.deleteFrom('clients').where('id', '=', id);
      if (etag !== undefined) q = q.where('etag', '=', etag);
      const res = await q.executeTakeFirst();
      if (res.numDeletedRows === 0n) return false;
      await this.changed(tx, 'client', id, now);
      return true;
    });
  }

  async insertCredential(credential: CredentialRecord, secretDigest: string): Promise<'ok' | 'id_taken' | 'secret_taken'> {
    const taken = await this.db.selectFrom('credential_secrets').select('digest').where('digest', '=', secretDigest).executeTakeFirst();
    if (taken) return 'secret_taken';
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('client_credentials').values(credentialToRow(credential)).execute();
        await tx
          .insertInto('credential_secrets')
          .values({ digest: secretDigest, client_id: credential.clientId, credential_id: credential.id, expire_time: null, create_time: toDbTime(credential.createTime) })
          .execute();
        await this.changed(tx, 'credential', credentialKey(credential.clientId, credential.id), credential.createTime);
      });
      return 'ok';
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const again = await this.db.selectFrom('credential_secrets').select('digest').where('digest', '=', secretDigest).executeTakeFirst();
      return again ? 'secret_taken' : 'id_taken';
    }
  }

  async getCredential(clientId: string, id: string) {
    const row = await this.db
      .selectFrom('client_credentials')
      .selectAll()
      .select(previousSecretExpiry)
      .where('client_id', '=', clientId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && credentialFromRow(row);
  }

  async listCredentials(clientId: string | undefined, after: string | undefined, limit: number) {
    let q = this.db.selectFrom('client_credentials').selectAll().select(previousSecretExpiry).orderBy('client_id').orderBy('id').limit(limit);
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    if (after !== undefined) {
      const [c, i] = JSON.parse(after) as [string, string];
      q = q.where((eb) => eb.or([eb('client_id', '>', c), eb.and([eb('client_id', '=', c), eb('id', '>', i)])]));
    }
    return (await q.execute()).map(credentialFromRow);
  }

  async updateCredential(credential: CredentialRecord, fields: readonly string[], expectedEtag: string) {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('client_credentials')
        .set(changedColumns(credentialToRow(credential), fields, CREDENTIAL_SPREAD))
        .where('client_id', '=', credential.clientId)
        .where('id', '=', credential.id)
        .where('etag', '=', expectedEtag)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return false;
      await this.changed(tx, 'credential', credentialKey(credential.clientId, credential.id), credential.updateTime);
      return true;
    });
  }

  async rotateSecret(credential: CredentialRecord, newDigest: string, oldSecretsExpire: Date, expectedEtag: string) {
    return this.db.transaction().execute(async (tx) => {
      // The swap first: it locks the row (PostgreSQL) and decides whether this rotation happens at all.
      const swapped = await tx
        .updateTable('client_credentials')
        .set(changedColumns(credentialToRow(credential), ['secret_hint']))
        .where('client_id', '=', credential.clientId)
        .where('id', '=', credential.id)
        .where('etag', '=', expectedEtag)
        .where('state', '=', 'ACTIVE')
        .executeTakeFirst();
      if (swapped.numUpdatedRows === 0n) return false;
      const now = credential.updateTime;
      const limit = toDbTime(oldSecretsExpire);
      await tx
        .updateTable('credential_secrets')
        .set({ expire_time: limit })
        .where('client_id', '=', credential.clientId)
        .where('credential_id', '=', credential.id)
        .where((eb) => eb.or([eb('expire_time', 'is', null), eb('expire_time', '>', limit)]))
        .execute();
      await tx
        .insertInto('credential_secrets')
        .values({ digest: newDigest, client_id: credential.clientId, credential_id: credential.id, expire_time: null, create_time: toDbTime(now) })
        .execute();
      await this.changed(tx, 'credential', credentialKey(credential.clientId, credential.id), now);
      return true;
    });
  }

  async deleteCredential(clientId: string, id: string, now: Date, etag?: string) {
    return this.db.transaction().execute(async (tx) => {
      let q = tx.deleteFrom('client_credentials').where('client_id', '=', clientId).where('id', '=', id);
      if (etag !== undefined) q = q.where('etag', '=', etag);
      const res = await q.executeTakeFirst();
      if (res.numDeletedRows === 0n) return false;
      await this.changed(tx, 'credential', credentialKey(clientId, id), now);
      return true;
    });
  }

  async findBySecretDigest(digest: string) {
    const row: DigestRow | undefined = await this.prepared.byDigest(digest);
    if (!row) return undefined;
    const { secret_digest, secret_expire_time, ...credential } = row;
    const secret: SecretRecord = { digest: secret_digest, expireTime: fromDbTimeOrNull(secret_expire_time) };
    return { credential: credentialFromRow(credential), secret };
  }

  latestChange() {
    return latestChange(this.db);
  }

  changesSince(after: number, also: readonly number[]) {
    return changesSince(this.db, after, also);
  }

  /**
   * Chunk by chunk, with a turn of the event loop between chunks: a flush of a million uses must
   * not hold the serving thread (the whole flush used to run as one block of microtasks, seconds
   * long, since every awaited SQLite statement resolves at once).
   */
  async recordLastUse(uses: ReadonlyMap<string, Date>) {
    let chunk: LastUseRow[] = [];
    for (const [name, time] of uses) {
      const [, clientId, , id] = name.split('/');
      chunk.push({ clientId: clientId!, id: id!, time: toDbTime(time) });
      if (chunk.length < LAST_USE_CHUNK) continue;
      await this.prepared.writeLastUse(chunk);
      chunk = [];
      await nextTurn();
    }
    if (chunk.length > 0) await this.prepared.writeLastUse(chunk);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
