import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromBinary, toBinary, createFileRegistry, type DescFile, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import * as v1 from '../../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';

/** The descriptor image `scripts/generate.sh` writes; unlike the descriptors embedded in *_pb.ts it keeps comments. */
const IMAGE_PATH = join(__dirname, '../../gen/latchkey.binpb');

/**
 * Answers gRPC server reflection (grpc.reflection.v1 and v1alpha) from the
 * descriptor image, so `grpcurl list` / `describe` work with no proto files.
 * There is no maintained reflection package for Connect v2; the protocol is
 * small enough to serve directly.
 */
export class ReflectionIndex {
  private readonly registry: FileRegistry;
  private readonly bytesByFile = new Map<string, Uint8Array>();

  constructor(
    private readonly serviceNames: readonly string[],
    imageBytes: Uint8Array = readFileSync(IMAGE_PATH),
  ) {
    const set = fromBinary(FileDescriptorSetSchema, imageBytes);
    for (const file of set.file) this.bytesByFile.set(file.name, toBinary(FileDescriptorProtoSchema, file));
    this.registry = createFileRegistry(set);
  }

  listServices(): string[] {
    return [...this.serviceNames].sort();
  }

  /** The file and everything it imports, transitively (what grpcurl expects in one answer). */
  fileWithDependencies(fileName: string): Uint8Array[] | undefined {
    const file = this.registry.getFile(fileName);
    if (!file) return undefined;
    const seen = new Set<string>();
    const order: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name + '.proto')) return;
      seen.add(f.name + '.proto');
      const bytes = this.bytesByFile.get(f.proto.name);
      if (bytes) order.push(bytes);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return order;
  }

  /** The file declaring a fully-qualified symbol: a type, service, method, field or enum value. */
  fileContainingSymbol(symbol: string): string | undefined {
    const name = symbol.startsWith('.') ? symbol.slice(1) : symbol;
    const direct = this.registry.get(name);
    if (direct) return direct.file.proto.name;
    const dot = name.lastIndexOf('.');
    if (dot < 0) return undefined;
    const parent = this.registry.get(name.slice(0, dot));
    const member = name.slice(dot + 1);
    if (parent?.kind === 'service' && parent.methods.some((m) => m.name === member)) return parent.file.proto.name;
    if (parent?.kind === 'message' && parent.fields.some((f) => f.name === member)) return parent.file.proto.name;
    if (parent?.kind === 'enum' && parent.values.some((v) => v.name === member)) return parent.file.proto.name;
    return undefined;
  }

  fileContainingExtension(containingType: string, number: number): string | undefined {
    for (const ext of this.registry) {
      if (ext.kind === 'extension' && ext.extendee.typeName === containingType && ext.number === number) {
        return ext.file.proto.name;
      }
    }
    return undefined;
  }

  extensionNumbersOf(typeName: string): number[] | undefined {
    if (this.registry.getMessage(typeName) === undefined) return undefined;
    const numbers: number[] = [];
    for (const ext of this.registry) {
      if (ext.kind === 'extension' && ext.extendee.typeName === typeName) numbers.push(ext.number);
    }
    return numbers;
  }
}

// gRPC status codes used in reflection's ErrorResponse.
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

type ReflectionModule = typeof v1 | typeof v1alpha;

/**
 * v1 and v1alpha have the same messages under two packages; one function
 * serves both by taking the generated module.
 */
function answer(mod: ReflectionModule, index: ReflectionIndex, req: v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest) {
  const files = (list: Uint8Array[] | undefined, what: string) =>
    list
      ? ({ case: 'fileDescriptorResponse', value: { fileDescriptorProto: list } } as const)
      : ({ case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } } as const);
  const byName = (name: string | undefined) => (name === undefined ? undefined : index.fileWithDependencies(name));

  let messageResponse;
  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      messageResponse = {
        case: 'listServicesResponse',
        value: { service: index.listServices().map((name) => ({ name })) },
      } as const;
      break;
    case 'fileByFilename':
      messageResponse = files(byName(r.value), `file ${JSON.stringify(r.value)}`);
      break;
    case 'fileContainingSymbol':
      messageResponse = files(byName(index.fileContainingSymbol(r.value)), `symbol ${JSON.stringify(r.value)}`);
      break;
    case 'fileContainingExtension':
      messageResponse = files(
        byName(index.fileContainingExtension(r.value.containingType, r.value.extensionNumber)),
        `extension ${r.value.extensionNumber} of ${JSON.stringify(r.value.containingType)}`,
      );
      break;
    case 'allExtensionNumbersOfType': {
      const numbers = index.extensionNumbersOf(r.value);
      messageResponse = numbers
        ? ({ case: 'allExtensionNumbersResponse', value: { baseTypeName: r.value, extensionNumber: numbers } } as const)
        : ({ case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage: `type ${JSON.stringify(r.value)} not found` } } as const);
      break;
    }
    default:
      messageResponse = {
        case: 'errorResponse',
        value: { errorCode: INVALID_ARGUMENT, errorMessage: 'empty reflection request' },
      } as const;
  }
  return create(mod.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
    validHost: req.host,
    originalRequest: req as v1.ServerReflectionRequest,
    messageResponse,
  });
}

export function registerReflection(router: ConnectRouter, index: ReflectionIndex): void {
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(v1, index, req);
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(v1alpha, index, req) as unknown as v1alpha.ServerReflectionResponse;
    },
  });
}
