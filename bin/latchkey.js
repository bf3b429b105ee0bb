#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so the repository needs no build step.
require('tsx/cjs');
const { main } = require('../src/cli.ts');
main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`latchkey: ${(err && err.stack) || String(err)}\n`);
    process.exit(1);
  },
);
