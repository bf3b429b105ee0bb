import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnLatchkey } from '../support/process.js';

/**
 * The README's quick start, pasted as a new user would: its first block's variables start a real
 * server, its second block runs in bash against it, and every output line must be the `# …` line
 * the README shows under its command.
 */
describe("the README's quick start", () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('runs as written and prints what it says', async () => {
    expect(blocks).toHaveLength(2);
    const start = blocks[0]!.trim();
    expect(start).toMatch(/ npm start$/);
    const env = Object.fromEntries([...start.matchAll(/(LATCHKEY_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-quickstart-'));
    const run = spawnLatchkey(['serve'], { ...env, LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: join(dir, 'db.sqlite') });
    try {
      const port = (await run.waitForLog(/is listening/)).port as number;
      const script = blocks[1]!;
      expect(script.split('\n')[0]).toBe('LK=http://localhost:8080');
      const expected = script
        .split('\n')
        .filter((l) => l.startsWith('# '))
        .map((l) => l.slice(2));
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script.replace('LK=http://localhost:8080', `LK=http://127.0.0.1:${port}`)]);
      expect(stdout.trim().split('\n')).toEqual(expected);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
