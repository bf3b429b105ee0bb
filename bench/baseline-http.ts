/**
 * The HTTP/1.1 ceiling of `npm run bench`: a plain `node:http` server that answers every POST with a
 * fixed JSON body and nothing else (no routing beyond one map lookup, no parsing, no credential
 * check). The bodies are latchkey's own answers, captured in the same run, so both sides send the
 * same bytes: BASELINE_BODIES_FILE holds `{ "<path>": "<body>" }`; other paths answer the first one.
 * Prints `{"port":n}` once listening; SIGTERM closes it.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';

const bodies = new Map<string, Buffer>(
  Object.entries(JSON.parse(readFileSync(process.env.BASELINE_BODIES_FILE!, 'utf8')) as Record<string, string>).map(([path, body]) => [path, Buffer.from(body)]),
);
const fallback = bodies.values().next().value!;

const server = http.createServer((req, res) => {
  // Read the request to its end, as any real handler must, then answer.
  req.resume();
  req.on('end', () => {
    const body = bodies.get(req.url ?? '') ?? fallback;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
