/**
 * Jest global setup. Fails the whole run when PostgreSQL is unreachable, so the PostgreSQL half of
 * the store tests can never be skipped without anyone noticing.
 *
 * Jest loads this file with Node's own `require` (no moduleNameMapper), so it imports no relative
 * `.js` module; the defaults below match test/support/postgres.ts.
 */
import pg from 'pg';

export default async function globalSetup(): Promise<void> {
  const url = process.env.LATCHKEY_TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    const reason = err instanceof Error ? err.message || String((err as NodeJS.ErrnoException).code) : String(err);
    const where = new URL(url);
    throw new Error(
      `PostgreSQL is not reachable at ${where.host}${where.pathname} (${reason}). The tests need it: start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, ' +
        'or set LATCHKEY_TEST_PG_ADMIN_URL to a server where the tests may create databases.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
