/**
 * The gRPC ceiling of `npm run bench`: an `@grpc/grpc-js` server with one unary method at
 * BASELINE_GRPC_PATH that answers every call with the fixed message in BASELINE_GRPC_MESSAGE_FILE
 * (latchkey's own serialized answer, captured in the same run) without decoding the request.
 * Prints `{"port":n}` once listening; SIGTERM shuts it down.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

const path = process.env.BASELINE_GRPC_PATH!;
const answer = readFileSync(process.env.BASELINE_GRPC_MESSAGE_FILE!);
const identity = (b: Buffer) => b;

const server = new grpc.Server();
server.addService(
  {
    fixed: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  { fixed: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, answer) },
);

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
