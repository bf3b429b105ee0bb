/**
 * Grows a store straight in its SQLite file while no server runs: 10 000 flags or 100 000
 * credentials through the management API would take minutes. Each new row is a copy of a template
 * row the server itself wrote (seed-api.ts), with its own id, salt, etag or digest, so whatever
 * columns the schema has today are filled the way the server fills them; the rows hit afterwards
 * are checked through the server (run.ts) before anything is measured.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { digestSecret } from '../src/credentials/digest.js';
import { secretHint } from '../src/credentials/hint.js';
import { issueSecret } from '../src/credentials/issue.js';
import { CLIENT, TEMPLATE_FLAG, TEN_PROJECT } from './seed-api.js';

/** The ten flags every 10-flag row names: flag-0, flag-20 … flag-180 (all in project `ten`). */
export const NAMED_FLAGS = Array.from({ length: 10 }, (_, i) => `flag-${i * 20}`);

type Row = Record<string, unknown>;

function insertLike(db: Database.Database, table: string, template: Row) {
  const columns = Object.keys(template);
  const stmt = db.prepare(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  return (row: Row) => stmt.run(row);
}

function only(db: Database.Database, sql: string, ...params: unknown[]): Row {
  const rows = db.prepare(sql).all(...params) as Row[];
  if (rows.length !== 1) throw new Error(`seed: expected one template row for ${sql} (${params.join(', ')}), found ${rows.length}`);
  return rows[0]!;
}

/** Copies the template flag until the store holds `total` flags `flag-0` … `flag-<total-1>`; the named ten stay in project `ten`. */
export function growFlags(dbPath: string, total: number): void {
  const db = new Database(dbPath);
  try {
    const template = only(db, 'SELECT * FROM flags WHERE id = ?', TEMPLATE_FLAG);
    const insert = insertLike(db, 'flags', template);
    const named = new Set(NAMED_FLAGS);
    db.transaction(() => {
      for (let i = 1; i < total; i++) {
        const id = `flag-${i}`;
        insert({
          ...template,
          id,
          project_id: named.has(id) ? TEN_PROJECT : 'default',
          salt: randomBytes(String(template.salt).length / 2 + 1).toString('hex').slice(0, String(template.salt).length),
          ...('etag' in template ? { etag: randomBytes(8).toString('hex') } : {}),
        });
      }
    })();
  } finally {
    db.close();
  }
}

/**
 * Adds `count` credentials `clients/bench/credentials/cold-<i>`, copies of `backend` with secrets of
 * their own (issued the way the server issues CLIENT_SECRET ones), and writes the secrets one a line.
 */
export function growCredentials(dbPath: string, count: number, secretsFile: string): void {
  const db = new Database(dbPath);
  const secrets: string[] = [];
  try {
    const credential = only(db, 'SELECT * FROM client_credentials WHERE client_id = ? AND id = ?', CLIENT, 'backend');
    const secret = only(db, 'SELECT * FROM credential_secrets WHERE client_id = ? AND credential_id = ?', CLIENT, 'backend');
    const insertCredential = insertLike(db, 'client_credentials', credential);
    const insertSecret = insertLike(db, 'credential_secrets', secret);
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const id = `cold-${i}`;
        const issued = issueSecret('CLIENT_SECRET', { environments: ['production'], projects: ['*'], live: true });
        secrets.push(issued.secret);
        insertCredential({
          ...credential,
          id,
          display_name: id,
          secret_hint: issued.hint,
          last_use_time: null,
          ...('etag' in credential ? { etag: randomBytes(8).toString('hex') } : {}),
        });
        insertSecret({ ...secret, credential_id: id, digest: digestSecret(issued.secret) });
      }
    })();
  } finally {
    db.close();
  }
  writeFileSync(secretsFile, `${secrets.join('\n')}\n`);
}
