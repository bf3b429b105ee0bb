/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // Generated code and our sources import with the `.js` suffix (ESM style);
  // strip it from relative imports only so Jest resolves the `.ts` file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker that has run its share of the suites holds a 300-600 MB heap, and on these virtual
  // machines Node takes about 0.6 s to free it after the worker's 'exit' event (measured: munmap
  // and page-table updates, nothing left open). Jest's default 500 ms would report that as "failed
  // to exit gracefully"; a handle that is really left open still keeps a worker past 3 s.
  workerGracefulExitTimeout: 3000,
};
