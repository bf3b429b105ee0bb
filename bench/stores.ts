/**
 * The SQLite stores of one run, all grown from one base that latchkey itself created and that was
 * seeded through its management API: the base, then one copy per flag count, and one with many
 * credentials.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startLatchkey } from './latchkey-process.js';
import { stopProcess } from './processes.js';
import { seedThroughApi, type SeededCredentials } from './seed-api.js';
import { growCredentials, growFlags } from './seed-sqlite.js';

export interface Stores {
  dir: string;
  credentials: SeededCredentials;
  /** A store of n flags (`flag-0` … `flag-<n-1>`). */
  flags: (n: number) => string;
  /** A store of 200 flags and `coldCredentials` extra credentials, with their secrets' file. */
  cold: (count: number) => { db: string; secretsFile: string };
  /** A fresh copy of a store (for a server that must start from the same state as another). */
  copy: (db: string, name: string) => string;
}

/** Folds the WAL into the main file so that a plain file copy is the whole store. */
function checkpoint(db: string): void {
  const d = new Database(db);
  try {
    d.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    d.close();
  }
}

function copyStore(from: string, to: string): string {
  checkpoint(from);
  copyFileSync(from, to);
  for (const suffix of ['-wal', '-shm']) if (existsSync(to + suffix)) throw new Error(`unexpected ${to}${suffix}`);
  return to;
}

export async function prepareStores(dir: string): Promise<Stores> {
  const base = join(dir, 'base.db');
  const server = await startLatchkey('latchkey (seeding)', base);
  let credentials: SeededCredentials;
  try {
    credentials = await seedThroughApi(server.port);
  } finally {
    await stopProcess(server);
  }
  const bySize = new Map<number, string>();
  const colds = new Map<number, { db: string; secretsFile: string }>();
  let copies = 0;
  const flags = (n: number) => {
    let db = bySize.get(n);
    if (!db) {
      db = copyStore(base, join(dir, `flags-${n}.db`));
      growFlags(db, n);
      bySize.set(n, db);
    }
    return db;
  };
  return {
    dir,
    credentials,
    flags,
    cold: (count) => {
      let c = colds.get(count);
      if (!c) {
        const db = copyStore(flags(200), join(dir, `cold-${count}.db`));
        const secretsFile = join(dir, `cold-${count}.secrets`);
        growCredentials(db, count, secretsFile);
        c = { db, secretsFile };
        colds.set(count, c);
      }
      return c;
    },
    copy: (db, name) => copyStore(db, join(dir, `${name}-${copies++}.db`)),
  };
}
