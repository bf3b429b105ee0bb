/**
 * Bytes the audit trail stores per 1 000 validations of one credential from one address: every
 * table whose name starts with `audit` (and their indexes), from SQLite's dbstat view, before the
 * server starts and after it has served the validations and flushed its audit queue on SIGTERM.
 * The figure counts the bytes in use in those pages (page size − unused): whole pages move in 4 KiB
 * steps, too coarse for a trail that grows by a few rows. The page totals are reported too.
 */
import Database from 'better-sqlite3';
import { connectJsonCall } from '../calls.js';
import { config } from '../config.js';
import { load } from '../drivers/index.js';
import { startLatchkey } from '../latchkey-process.js';
import { stopProcess } from '../processes.js';
import { atMost } from '../report.js';
import type { RunContext } from './context.js';

interface AuditFootprint {
  /** Bytes of the pages in use, without their free space. */
  bytes: number;
  /** Bytes of whole pages. */
  pageBytes: number;
  rows: Record<string, number>;
}

function auditFootprint(dbPath: string): AuditFootprint {
  const db = new Database(dbPath, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit%'").all() as { name: string }[]).map((r) => r.name);
    // The tables and every index on them.
    const objects = (db.prepare(`SELECT name FROM sqlite_master WHERE tbl_name IN (${tables.map(() => '?').join(',') || "''"})`).all(...tables) as { name: string }[]).map((r) => r.name);
    const sizes = objects.length
      ? (db.prepare(`SELECT COALESCE(SUM(pgsize - unused), 0) AS used, COALESCE(SUM(pgsize), 0) AS pages FROM dbstat WHERE name IN (${objects.map(() => '?').join(',')})`).get(...objects) as { used: number; pages: number })
      : { used: 0, pages: 0 };
    const rows = Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n]));
    return { bytes: sizes.used, pageBytes: sizes.pages, rows };
  } finally {
    db.close();
  }
}

export async function auditRows(ctx: RunContext): Promise<void> {
  const db = ctx.stores.copy(ctx.stores.flags(200), 'audit');
  const before = auditFootprint(db);
  const server = await startLatchkey('latchkey (audit)', db, { workers: config.latchkeyWorkers });
  let validations = 0;
  try {
    // About BENCH_AUDIT_VALIDATIONS at the rate the 10-flag row measured (or 4 s), within 2–15 s:
    // the figure is per validation, so how many there are only has to be many.
    const rps = ctx.measured.json?.rps;
    const seconds = Math.min(15, Math.max(2, rps ? Math.ceil(config.auditValidations / rps) : 4));
    const r = await load(connectJsonCall(server.port, ctx.stores.credentials.backend), seconds);
    validations = r.requests + r.errors;
  } finally {
    await stopProcess(server);
  }
  const after = auditFootprint(db);
  const perThousand = ((after.bytes - before.bytes) / Math.max(1, validations)) * 1000;
  ctx.rows.push({
    family: 'audit',
    name: 'audit bytes stored per 1 000 validations (one credential, one address)',
    value: perThousand,
    unit: 'B',
    ...atMost(perThousand, 5000),
    note: `${validations} validations in one run; audit tables ${before.bytes} → ${after.bytes} bytes in use (${before.pageBytes} → ${after.pageBytes} bytes of pages); rows ${JSON.stringify(before.rows)} → ${JSON.stringify(after.rows)}`,
    details: { validations, before, after },
  });
  ctx.log(`audit: ${validations} validations added ${after.bytes - before.bytes} bytes (${perThousand.toFixed(0)} per 1 000); rows ${JSON.stringify(after.rows)}`);
}
