// Fails when gen/ is out of step with proto/: regenerates into a scratch
// directory and compares every file byte for byte.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'latchkey-gen-'));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

try {
  execFileSync('bash', [join(root, 'scripts/generate.sh')], { env: { ...process.env, OUT: scratch }, stdio: 'inherit' });
  const expected = new Map(files(join(scratch, 'gen')).map((p) => [relative(join(scratch, 'gen'), p), p]));
  const actual = new Map(files(join(root, 'gen')).map((p) => [relative(join(root, 'gen'), p), p]));
  const problems = [];
  for (const [name, path] of expected) {
    if (!actual.has(name)) problems.push(`missing: gen/${name}`);
    else if (!readFileSync(path).equals(readFileSync(actual.get(name)))) problems.push(`stale: gen/${name}`);
  }
  for (const name of actual.keys()) if (!expected.has(name)) problems.push(`not generated from proto/: gen/${name}`);
  if (problems.length > 0) {
    console.error(`gen/ is out of step with proto/ — run \`npm run generate\` and commit:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`gen/ is up to date (${expected.size} files)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
