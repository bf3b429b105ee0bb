import { sql, type Kysely, type Selectable } from 'kysely';
import type { AccessTokenRecord, ApiClientRecord, ApiClientStore } from '../iam/model.js';
import type { ApiClientsTable, Database } from './schema.js';
import { fromDbTime, toDbTime } from './time.js';
import { changedColumns } from './swap.js';
import { isForeignKeyViolation, isUniqueViolation } from './unique-violation.js';
import { detectDialect } from './dialect.js';

/**
 * The PostgreSQL advisory lock (transaction-scoped) behind `withAdminLock`: one number that no
 * other lock of latchkey's uses (Kysely's migration lock is 3853314791062309107).
 */
const ADMIN_LOCK_KEY = 7_236_914_305_553_871;

/** Thrown out of a transaction to roll it back when the new client id is someone else's. */
const CLIENT_ID_TAKEN = Symbol('client-id-taken');

function toRecord(row: Selectable<ApiClientsTable>): ApiClientRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    secretDigest: row.secret_digest,
    displayName: row.display_name,
    description: row.description,
    labels: JSON.parse(row.labels) as Record<string, string>,
    roles: JSON.parse(row.roles) as string[],
    permissions: JSON.parse(row.permissions) as string[],
    createTime: fromDbTime(row.create_time),
    updateTime: fromDbTime(row.update_time),
    creator: row.creator,
    updater: row.updater,
    etag: row.etag,
    secretGeneration: row.secret_generation,
  };
}

function toRow(r: ApiClientRecord): Selectable<ApiClientsTable> {
  return {
    id: r.id,
    client_id: r.clientId,
    secret_digest: r.secretDigest,
    display_name: r.displayName,
    description: r.description,
    labels: JSON.stringify(r.labels),
    roles: JSON.stringify(r.roles),
    permissions: JSON.stringify(r.permissions),
    create_time: toDbTime(r.createTime),
    update_time: toDbTime(r.updateTime),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
    secret_generation: r.secretGeneration,
  };
}

export class KyselyApiClientStore implements ApiClientStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(record: ApiClientRecord): Promise<boolean> {
    try {
      await this.db.insertInto('api_clients').values(toRow(record)).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async get(id: string) {
    const row = await this.db.selectFrom('api_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async getByClientId(clientId: string) {
    const row = await this.db.selectFrom('api_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && toRecord(row);
  }

  async list(after: string | undefined, limit: number) {
    let q = this.db.selectFrom('api_clients').selectAll().orderBy('id').limit(limit);
    if (after !== undefined) q = q.where('id', '>', after);
    return (await q.execute()).map(toRecord);
  }

  async update(record: ApiClientRecord, fields: readonly string[], expectedEtag: string) {
    const res = await this.db
      .updateTable('api_clients')
      .set(changedColumns(toRow(record), fields))
      .where('id', '=', record.id)
      .where('etag', '=', expectedEtag)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async delete(id: string, etag?: string) {
    let q = this.db.deleteFrom('api_clients').where('id', '=', id);
    if (etag !== undefined) q = q.where('etag', '=', etag);
    const res = await q.executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async replaceSecret(id: string, secretDigest: string, updateTime: Date, updater: string | null, etag: string) {
    return this.db.transaction().execute(async (tx) => {
      // One UPDATE, so the generation grows atomically whatever runs beside it; a token exchange
      // that verified the old secret either committed before (its token is deleted below) or
      // stores its token under the old generation, which findToken no longer accepts.
      const res = await tx
        .updateTable('api_clients')
        .set((eb) => ({ secret_digest: secretDigest, secret_generation: eb('secret_generation', '+', 1), update_time: toDbTime(updateTime), updater, etag }))
        .where('id', '=', id)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return undefined;
      await tx.deleteFrom('access_tokens').where('api_client_id', '=', id).execute();
      const row = await tx.selectFrom('api_clients').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return toRecord(row);
    });
  }

  /** Runs `fn` in a transaction, or in the current one when this store is bound to a transaction. */
  private inTransaction<T>(fn: (store: KyselyApiClientStore, db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this, this.db);
    return this.db.transaction().execute((tx) => fn(new KyselyApiClientStore(tx), tx));
  }

  /**
   * On SQLite the transaction itself is the lock: it begins with BEGIN IMMEDIATE (see
   * sqlite-dialect.ts), which takes the file's write lock, so its reads see the newest commit and no
   * other writer, in this process or another, commits until it ends. On PostgreSQL, where READ
   * COMMITTED lets two transactions read the same admins and both delete one, a transaction-scoped
   * advisory lock serialises these writes across replicas; each statement after it sees every
   * commit made before it was granted.
   */
  withAdminLock<T>(fn: (store: KyselyApiClientStore) => Promise<T>): Promise<T> {
    return this.inTransaction(async (store, tx) => {
      if (detectDialect(tx) === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(ADMIN_LOCK_KEY)})`.execute(tx);
      return fn(store);
    });
  }

  async countHolders(role: string, exceptId: string) {
    // Roles are stored as a JSON array of validated role names, which need no escaping in JSON or LIKE.
    if (!/^[a-z0-9/_-]+$/i.test(role)) throw new Error(`countHolders: unexpected role name ${JSON.stringify(role)}`);
    const row = await this.db
      .selectFrom('api_clients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('roles', 'like', `%${JSON.stringify(role)}%`)
      .where('id', '<>', exceptId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  insertFirst(record: ApiClientRecord, beforeCommit: () => Promise<void>) {
    // Under the admin lock, so that of several replicas starting at once on one database exactly
    // one finds the table empty; a first start whose beforeCommit fails leaves it empty for the next.
    return this.withAdminLock(async (store) => {
      if ((await store.count()) > 0) return false;
      await store.db.insertInto('api_clients').values(toRow(record)).execute();
      await beforeCommit();
      return true;
    });
  }

  async rekey(record: ApiClientRecord, expectedEtag: string): Promise<'ok' | 'conflict' | 'client-id-taken'> {
    try {
      return await this.inTransaction(async (_store, tx) => {
        let res;
        try {
          res = await tx
            .updateTable('api_clients')
            .set((eb) => ({
              client_id: record.clientId,
              secret_digest: record.secretDigest,
              secret_generation: eb('secret_generation', '+', 1),
              roles: JSON.stringify(record.roles),
              permissions: JSON.stringify(record.permissions),
              update_time: toDbTime(record.updateTime),
              updater: record.updater,
              etag: record.etag,
            }))
            .where('id', '=', record.id)
            .where('etag', '=', expectedEtag)
            .executeTakeFirst();
        } catch (err) {
          if (isUniqueViolation(err)) throw CLIENT_ID_TAKEN;
          throw err;
        }
        if (res.numUpdatedRows === 0n) return 'conflict' as const;
        await tx.deleteFrom('access_tokens').where('api_client_id', '=', record.id).execute();
        return 'ok' as const;
      });
    } catch (err) {
      if (err === CLIENT_ID_TAKEN) return 'client-id-taken';
      throw err;
    }
  }

  async count() {
    const row = await this.db.selectFrom('api_clients').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertToken(token: AccessTokenRecord, secretDigest: string, createTime: Date) {
    try {
      // INSERT … SELECT: the generation stored is read in the same statement that checks the
      // secret is still the verified one, so no rotation can slip in between.
      const res = await this.db
        .insertInto('access_tokens')
        .columns(['digest', 'api_client_id', 'expire_time', 'create_time', 'secret_generation'])
        .expression((eb) =>
          eb
            .selectFrom('api_clients')
            .select((s) => [
              s.val(token.digest).as('digest'),
              'id',
              s.val(toDbTime(token.expireTime)).as('expire_time'),
              s.val(toDbTime(createTime)).as('create_time'),
              'secret_generation',
            ])
            .where('id', '=', token.apiClientId)
            .where('secret_digest', '=', secretDigest),
        )
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    } catch (err) {
      // The client was deleted while its exchange ran.
      if (isForeignKeyViolation(err)) return false;
      throw err;
    }
  }

  async findToken(digest: string) {
    const row = await this.db
      .selectFrom('access_tokens')
      .innerJoin('api_clients', (j) =>
        j.onRef('api_clients.id', '=', 'access_tokens.api_client_id').onRef('api_clients.secret_generation', '=', 'access_tokens.secret_generation'),
      )
      .selectAll('api_clients')
      .select(['access_tokens.digest as token_digest', 'access_tokens.expire_time as token_expire_time'])
      .where('access_tokens.digest', '=', digest)
      .executeTakeFirst();
    if (!row) return undefined;
    const { token_digest, token_expire_time, ...client } = row;
    return {
      token: { digest: token_digest, apiClientId: client.id, expireTime: fromDbTime(token_expire_time) },
      client: toRecord(client),
    };
  }

  async deleteExpiredTokens(now: Date) {
    const res = await this.db.deleteFrom('access_tokens').where('expire_time', '<=', toDbTime(now)).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
