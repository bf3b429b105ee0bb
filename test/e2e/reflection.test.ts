import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import * as v1 from '../../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Request = v1.ServerReflectionRequest['messageRequest'];

/**
 * Speaks server reflection the way grpcurl does: one bidi stream over
 * @grpc/grpc-js, a request per question, descriptors decoded from the answer.
 */
async function reflect(port: number, pkg: 'v1' | 'v1alpha', requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
  const mod = pkg === 'v1' ? v1 : v1alpha;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    `/grpc.reflection.${pkg}.ServerReflection/ServerReflectionInfo`,
    (m: v1.ServerReflectionRequest) => Buffer.from(toBinary(mod.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema, m)),
    (b: Buffer) => fromBinary(mod.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, b),
  );
  const responses: v1.ServerReflectionResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (r: v1.ServerReflectionResponse) => responses.push(r));
    call.on('end', resolve);
    call.on('error', reject);
  });
  for (const messageRequest of requests) call.write(create(mod.ServerReflectionRequestSchema as typeof v1.ServerReflectionRequestSchema, { host: 'localhost', messageRequest }));
  call.end();
  await done;
  client.close();
  return responses;
}

function files(res: v1.ServerReflectionResponse): FileDescriptorProto[] {
  if (res.messageResponse.case !== 'fileDescriptorResponse') throw new Error(`expected files, got ${res.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

const SPEC_SERVICES = [
  'latchkey.audit.v1.AuditService',
  'latchkey.clients.v1.ClientCredentialService',
  'latchkey.events.v1.EventService',
  'latchkey.flags.admin.v1.FlagAdminService',
  'latchkey.flags.resolver.v1.FlagResolverService',
  'latchkey.iam.v1.ApiClientService',
  'latchkey.iam.v1.AuthService',
];

describe('gRPC server reflection (what grpcurl list / describe use)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(['v1', 'v1alpha'] as const)('%s lists every service of SPEC §2 plus health and reflection', async (pkg) => {
    const [res] = await reflect(server.port, pkg, [{ case: 'listServices', value: '' }]);
    expect(res?.messageResponse.case).toBe('listServicesResponse');
    const names = res?.messageResponse.case === 'listServicesResponse' ? res.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual(
      [...SPEC_SERVICES, 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'].sort(),
    );
  });

  it('resolves a method to its file, with every import, and documents it', async () => {
    const [res] = await reflect(server.port, 'v1', [
      { case: 'fileContainingSymbol', value: 'latchkey.flags.resolver.v1.FlagResolverService.ResolveFlags' },
    ]);
    const descriptors = files(res!);
    const main = descriptors[0]!;
    expect(main.name).toBe('latchkey/flags/resolver/v1/resolver_service.proto');
    const service = main.service.find((s) => s.name === 'FlagResolverService');
    const method = service?.method.find((m) => m.name === 'ResolveFlags');
    expect(method?.inputType).toBe('.latchkey.flags.resolver.v1.ResolveFlagsRequest');
    expect(method?.outputType).toBe('.latchkey.flags.resolver.v1.ResolveFlagsResponse');
    // grpcurl needs every transitive import in the answer to build the descriptors.
    const names = new Set(descriptors.map((d) => d.name));
    for (const d of descriptors) for (const dep of d.dependency) expect(names).toContain(dep);
    expect(names).toContain('google/protobuf/struct.proto');
    // Comments survive (the image keeps source info), so describe shows documentation.
    expect(main.sourceCodeInfo?.location.some((l) => (l.leadingComments ?? '').length > 0)).toBe(true);
  });

  it('finds files by name and symbols of every kind', async () => {
    const responses = await reflect(server.port, 'v1alpha', [
      { case: 'fileByFilename', value: 'latchkey/clients/v1/client_credential.proto' },
      { case: 'fileContainingSymbol', value: 'latchkey.clients.v1.ClientCredential' },
      { case: 'fileContainingSymbol', value: 'latchkey.flags.resolver.v1.ResolveReason' },
      { case: 'fileContainingSymbol', value: 'latchkey.iam.v1.AuthService' },
    ]);
    expect(responses.map((r) => files(r)[0]?.name)).toEqual([
      'latchkey/clients/v1/client_credential.proto',
      'latchkey/clients/v1/client_credential.proto',
      'latchkey/flags/resolver/v1/resolver.proto',
      'latchkey/iam/v1/auth_service.proto',
    ]);
  });

  it('answers an unknown symbol or file with a NOT_FOUND error response, not a broken stream', async () => {
    const responses = await reflect(server.port, 'v1', [
      { case: 'fileContainingSymbol', value: 'no.such.Symbol' },
      { case: 'fileByFilename', value: 'nope.proto' },
    ]);
    expect(responses.map((r) => r.messageResponse)).toEqual([
      { case: 'errorResponse', value: expect.objectContaining({ errorCode: 5, errorMessage: 'symbol "no.such.Symbol" not found' }) },
      { case: 'errorResponse', value: expect.objectContaining({ errorCode: 5, errorMessage: 'file "nope.proto" not found' }) },
    ]);
  });
});
