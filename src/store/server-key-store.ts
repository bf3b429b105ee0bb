import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { toDbTime } from './time.js';

/** The HMAC key that signs resolve tokens (src/resolver/resolve-token.ts). */
export const RESOLVE_TOKEN_KEY_ID = 'resolve-token';

/**
 * The shared key `id` (`server_keys`), created with `bytes` random bytes by whichever replica starts
 * first. The insert does nothing when the row exists, and every caller then reads the row back, so
 * replicas starting at the same time on one database all end up with the one key that was stored.
 */
export async function loadOrCreateServerKey(db: Kysely<Database>, id: string, bytes: number, now: Date): Promise<Buffer> {
  await db
    .insertInto('server_keys')
    .values({ id, key: randomBytes(bytes).toString('base64'), create_time: toDbTime(now) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db.selectFrom('server_keys').select('key').where('id', '=', id).executeTakeFirstOrThrow();
  const key = Buffer.from(row.key, 'base64');
  // A stored key is never replaced (that would invalidate every token other replicas issued); refuse to start on a damaged one.
  if (key.length < bytes || key.toString('base64') !== row.key) throw new Error(`server key ${id} in server_keys is not ${bytes} bytes of base64`);
  return key;
}
