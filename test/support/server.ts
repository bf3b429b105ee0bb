import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApp, type App, type AppOptions } from '../../src/app.js';
import { parseConfig, type RawConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';

/** Every JSON line the server logged, kept so tests can search it (e.g. for secrets). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
    done();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  app: App;
  port: number;
  baseUrl: string;
  logs: LogCapture;
  /** What the server would have shown once on stderr (the generated bootstrap admin). */
  announced: string[];
  /** The SQLite file (undefined when running on PostgreSQL). */
  sqlitePath: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the real server on an ephemeral port over a fresh SQLite file (or the
 * given database URL), with logs captured at debug level.
 */
export async function startTestServer(raw: RawConfig = {}, options: AppOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  const sqlitePath = raw.databaseUrl ? undefined : join(dir, 'latchkey.db');
  const config = parseConfig({
    port: '0',
    host: '127.0.0.1',
    databaseUrl: sqlitePath,
    shutdownTimeoutMs: '2000',
    ...raw,
  });
  const logs = new LogCapture();
  const announced: string[] = [];
  const app = await startApp(config, { logger: createLogger('debug', logs), announce: (t) => announced.push(t), ...options });
  return {
    app,
    port: app.port,
    baseUrl: `http://127.0.0.1:${app.port}`,
    logs,
    announced,
    sqlitePath,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
