import type { Kysely, Selectable } from 'kysely';
import type { AccessTokenRecord, ApiClientRecord, ApiClientStore } from '../iam/model.js';
import type { ApiClientsTable, Database } from './schema.js';
import { fromDbTime, toDbTime } from './time.js';
import { isUniqueViolation } from './unique-violation.js';

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

  async update(record: ApiClientRecord) {
    const { id, client_id: _c, secret_digest: _s, create_time: _t, creator: _by, ...changes } = toRow(record);
    const res = await this.db.updateTable('api_clients').set(changes).where('id', '=', id).executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async delete(id: string) {
    const res = await this.db.deleteFrom('api_clients').where('id', '=', id).executeTakeFirst();
    return res.numDeletedRows > 0n;
  }

  async replaceSecret(id: string, secretDigest: string, updateTime: Date, updater: string | null) {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('api_clients')
        .set({ secret_digest: secretDigest, update_time: toDbTime(updateTime), updater })
        .where('id', '=', id)
        .executeTakeFirst();
      await tx.deleteFrom('access_tokens').where('api_client_id', '=', id).execute();
      return res.numUpdatedRows > 0n;
    });
  }

  async count() {
    const row = await this.db.selectFrom('api_clients').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertToken(token: AccessTokenRecord, createTime: Date) {
    await this.db
      .insertInto('access_tokens')
      .values({ digest: token.digest, api_client_id: token.apiClientId, expire_time: toDbTime(token.expireTime), create_time: toDbTime(createTime) })
      .execute();
  }

  async findToken(digest: string) {
    const row = await this.db
      .selectFrom('access_tokens')
      .innerJoin('api_clients', 'api_clients.id', 'access_tokens.api_client_id')
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
