import { ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema, BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';

/** The parts of a refusal a test asserts: code, ErrorInfo reason and domain, message. */
export async function refusal(p: Promise<unknown>) {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error('expected the call to be refused, but it succeeded');
  const err = ConnectError.from(caught);
  const info = err.findDetails(ErrorInfoSchema)[0];
  const bad = err.findDetails(BadRequestSchema)[0];
  return {
    code: err.code,
    reason: info?.reason,
    domain: info?.domain,
    metadata: info?.metadata,
    message: err.rawMessage,
    fieldViolations: bad?.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
  };
}
