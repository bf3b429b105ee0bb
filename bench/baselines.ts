/** Starts the platform ceilings, each in its own process, answering the bytes latchkey answered. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startProcess, type Server } from './processes.js';

export function startHttpBaseline(dir: string, bodies: Record<string, string>): Promise<Server> {
  const file = join(dir, 'baseline-bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  return startProcess('node:http ceiling', ['--import', 'tsx', join(ROOT, 'bench/baseline-http.ts')], { BASELINE_BODIES_FILE: file });
}

export function startGrpcBaseline(dir: string, path: string, message: Uint8Array): Promise<Server> {
  const file = join(dir, 'baseline-grpc-message.bin');
  writeFileSync(file, message);
  return startProcess('grpc-js ceiling', ['--import', 'tsx', join(ROOT, 'bench/baseline-grpc.ts')], { BASELINE_GRPC_PATH: path, BASELINE_GRPC_MESSAGE_FILE: file });
}
