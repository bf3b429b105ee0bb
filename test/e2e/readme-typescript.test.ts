import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../support/server.js';

/** The README's TypeScript snippet runs as shown (only its address is pointed at a test server). */
describe("the README's TypeScript snippet", () => {
  const root = join(__dirname, '../..');
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers SERVING from the health service', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const after = readme.slice(readme.indexOf('From TypeScript, with the generated code in `gen/`:'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(after)![1]!;
    expect(snippet).toContain("from './gen/grpc/health/v1/health_pb.js'");
    expect(snippet).toContain("baseUrl: 'http://localhost:8080'");
    // Run from a scratch folder one level below the repository, as if it were the project's own file.
    const dir = join(root, '.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `readme-snippet-${process.pid}.mts`);
    writeFileSync(file, snippet.replace("'./gen/", "'../gen/").replace('http://localhost:8080', server.baseUrl));
    try {
      const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), [file], { cwd: root });
      expect(stdout.trim()).toBe("{ '$typeName': 'grpc.health.v1.HealthCheckResponse', status: 1 }");
    } finally {
      rmSync(file, { force: true });
    }
  });
});
