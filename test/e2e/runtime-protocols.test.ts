import * as http from 'node:http';
import * as http2 from 'node:http2';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { create, createRegistry, fromBinary, fromJson, toBinary, toJson, toJsonString, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { anyUnpack, ValueSchema } from '@bufbuild/protobuf/wkt';
import { ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { encodeEnvelope } from '@connectrpc/connect/protocol';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../gen/latchkey/clients/v1/client_credential_pb.js';
import { ClientCredentialService } from '../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { FlagAdminService } from '../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Flag_Kind as Kind } from '../../gen/latchkey/flags/admin/v1/flag_pb.js';
import {
  ApplyFlagsRequestSchema,
  ApplyFlagsResponseSchema,
  FlagResolverService,
  ResolveConfigsRequestSchema,
  ResolveConfigsResponseSchema,
  ResolveFlagsRequestSchema,
  ResolveFlagsResponseSchema,
} from '../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The lean runtime path (src/server/lean/) and the Connect adapter must answer every runtime call
 * alike. Two servers, one with the lean path (the default) and one without it
 * (`leanRuntimePath: false`), get the same calls from raw HTTP/1.1 and HTTP/2 (exact headers,
 * trailers and bodies) and from the real clients (Connect for Node on Connect, gRPC and gRPC-Web,
 * JSON and binary; @grpc/grpc-js); each answer is normalised (request ids, resolve ids and tokens,
 * dates) and the two must be deeply equal, and each also meets an explicit expectation.
 */

const SERVICE = '/latchkey.flags.resolver.v1.FlagResolverService';
const ORIGIN = 'https://app.example.com';
const READ_MAX_BYTES = 4 * 1024 * 1024;
/**
 * A rate limit whose window outlasts the run: both servers see the same calls in the same order,
 * so x-ratelimit-remaining must match exactly, which it cannot if one server's window rolls over
 * between two calls and the other's does not (the per-address failure budgets have the default
 * one-minute window; their remaining count is compared as a number only).
 */
const LONG_WINDOW = { requests: 1_000_000, window: { seconds: 86_400n, nanos: 0 } };
const registry = createRegistry(ErrorInfoSchema, BadRequestSchema, RetryInfoSchema);
const v = (json: unknown) => fromJson(ValueSchema, json as never);

type Method = 'ResolveFlags' | 'ResolveConfigs' | 'ApplyFlags';
const SCHEMAS: Record<Method, { input: DescMessage; output: DescMessage }> = {
  ResolveFlags: { input: ResolveFlagsRequestSchema, output: ResolveFlagsResponseSchema },
  ResolveConfigs: { input: ResolveConfigsRequestSchema, output: ResolveConfigsResponseSchema },
  ApplyFlags: { input: ApplyFlagsRequestSchema, output: ApplyFlagsResponseSchema },
};

/** One of the two servers, with what the tests need on it. */
class Side {
  private readonly secrets = new Map<string, Promise<string>>();
  private constructor(readonly server: TestServer) {}

  static async start(lean: boolean): Promise<Side> {
    const server = await startTestServer({ ...BOOTSTRAP_CONFIG, corsAllowedOrigins: ORIGIN }, { leanRuntimePath: lean });
    const side = new Side(server);
    const admin = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
    await connectClient(server, ClientCredentialService, admin).createClient({ clientId: 'app' });
    const flags = connectClient(server, FlagAdminService, admin);
    await flags.createFlag({ flagId: 'alpha', flag: { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: v(true) }, { name: 'off', value: v(false) }], defaultVariant: 'off', rules: [{ name: 'all', enabled: true, allocations: [{ variant: 'on', weight: 10000 }] }] } });
    await flags.createFlag({ flagId: 'theme', flag: { kind: Kind.OBJECT, variants: [{ name: 'dark', value: v({ background: 'black', accent: 'teal' }) }], defaultVariant: 'dark' } });
    // Enough flags that resolving all of them answers more than 1 KiB (the compression threshold).
    for (let i = 0; i < 30; i++) {
      await flags.createFlag({ flagId: `bulk-${i}`, flag: { kind: Kind.STRING, variants: [{ name: 'a', value: v(`value-${i}-${'x'.repeat(20)}`) }], defaultVariant: 'a' } });
    }
    return side;
  }

  /** A credential's secret, created on first use (scopes flags:read and configs:read unless `spec` says otherwise). */
  secret(name: string, spec: Record<string, unknown> = {}): Promise<string> {
    let s = this.secrets.get(name);
    if (!s) {
      const creds = connectClient(this.server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
      s = creds
        .createClientCredential({ parent: 'clients/app', credentialId: name, credential: { format: Format.CLIENT_SECRET, class: Class.SECRET, projects: ['*'], scopes: ['flags:read', 'configs:read'], rateLimit: LONG_WINDOW, ...spec } })
        .then((c) => c.secret);
      this.secrets.set(name, s);
    }
    return s;
  }

  async revoked(): Promise<string> {
    const secret = await this.secret('revoked');
    if (!this.secrets.has('revoked:done')) {
      this.secrets.set('revoked:done', Promise.resolve(''));
      await connectClient(this.server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)).revokeClientCredential({ name: 'clients/app/credentials/revoked' });
    }
    return secret;
  }

  /** A resolve token of this server's `main` credential, for ApplyFlags. */
  async token(): Promise<string> {
    const secret = await this.secret('main');
    const res = await connectClient(this.server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({ flags: ['flags/alpha'] });
    return res.resolveToken;
  }
}

/** What a call is, independent of the server: its credential and its message, built per server. */
interface Scenario {
  name: string;
  method: Method;
  /** Request headers (credentials) on `side`. */
  headers(side: Side, variant: string): Promise<Record<string, string>>;
  message(side: Side): Promise<Record<string, unknown>>;
  /** Replaces the encoded request body (JSON text for JSON variants, bytes for binary ones). */
  body?: (binary: boolean) => Buffer;
  /** Called once before the observed call (e.g. to use up a rate limit), with the same request. */
  warmUp?: boolean;
  expected: { code: string; reason?: string };
}

const bearer = async (s: Promise<string>) => ({ authorization: `Bearer ${await s}` });
const resolveMsg = (flags: string[]) => async () => ({ flags, evaluationContext: { targeting_key: 'user-1' } });

const SCENARIOS: Scenario[] = [
  { name: 'ResolveFlags succeeds', method: 'ResolveFlags', headers: (s) => bearer(s.secret('main')), message: resolveMsg(['flags/alpha', 'flags/nope']), expected: { code: 'OK' } },
  { name: 'ResolveFlags of every flag (a response over 1 KiB)', method: 'ResolveFlags', headers: (s) => bearer(s.secret('main')), message: resolveMsg([]), expected: { code: 'OK' } },
  { name: 'ResolveFlags with apply', method: 'ResolveFlags', headers: (s) => bearer(s.secret('main')), message: async () => ({ flags: ['flags/alpha'], apply: true }), expected: { code: 'OK' } },
  { name: 'ResolveConfigs succeeds', method: 'ResolveConfigs', headers: (s) => bearer(s.secret('main')), message: resolveMsg(['flags/theme']), expected: { code: 'OK' } },
  { name: 'ApplyFlags succeeds', method: 'ApplyFlags', headers: (s) => bearer(s.secret('main')), message: async (s) => ({ resolveToken: await s.token(), flags: [{ flag: 'flags/alpha' }] }), expected: { code: 'OK' } },
  { name: 'ApplyFlags with a flag the token did not resolve', method: 'ApplyFlags', headers: (s) => bearer(s.secret('main')), message: async (s) => ({ resolveToken: await s.token(), flags: [{ flag: 'flags/other' }] }), expected: { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT' } },
  { name: 'the secret in the body', method: 'ResolveFlags', headers: async () => ({}), message: async (s) => ({ flags: ['flags/alpha'], clientSecret: await s.secret('main') }), expected: { code: 'OK' } },
  { name: 'no credential', method: 'ResolveFlags', headers: async () => ({}), message: resolveMsg(['flags/alpha']), expected: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING' } },
  { name: 'an unknown secret', method: 'ResolveFlags', headers: async () => ({ authorization: 'Bearer lks_doesnotexist' }), message: resolveMsg(['flags/alpha']), expected: { code: 'UNAUTHENTICATED' } },
  { name: 'a revoked credential', method: 'ResolveFlags', headers: (s) => bearer(s.revoked()), message: resolveMsg(['flags/alpha']), expected: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' } },
  { name: 'the wrong scope', method: 'ResolveConfigs', headers: (s) => bearer(s.secret('flags-only', { scopes: ['flags:read'] })), message: resolveMsg(['flags/theme']), expected: { code: 'PERMISSION_DENIED' } },
  {
    name: 'rate limited',
    method: 'ResolveFlags',
    headers: (s, variant) => bearer(s.secret(`limited-${variant.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, { rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } })),
    message: resolveMsg(['flags/alpha']),
    warmUp: true,
    expected: { code: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED' },
  },
  { name: 'a malformed body', method: 'ResolveFlags', headers: (s) => bearer(s.secret('main')), message: resolveMsg([]), body: (binary) => (binary ? Buffer.from([0x0a, 0xff, 0xff, 0xff]) : Buffer.from('{"flags": [')), expected: { code: 'INVALID_ARGUMENT', reason: 'MALFORMED_MESSAGE' } },
  { name: 'an unknown field in JSON (ignored, as Connect does)', method: 'ResolveFlags', headers: (s) => bearer(s.secret('main')), message: resolveMsg([]), body: (binary) => (binary ? Buffer.from([0x0a, 0x0b, ...Buffer.from('flags/alpha')]) : Buffer.from('{"flags":["flags/alpha"],"surprise":1}')), expected: { code: 'OK' } },
];

/** The raw protocol variants: how a request is framed and sent. */
interface Variant {
  name: string;
  transport: 'h1' | 'h2';
  contentType: string;
  binary: boolean;
  enveloped: boolean;
  grpcWeb: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'connect-json-h1', transport: 'h1', contentType: 'application/json', binary: false, enveloped: false, grpcWeb: false },
  { name: 'connect-proto-h1', transport: 'h1', contentType: 'application/proto', binary: true, enveloped: false, grpcWeb: false },
  { name: 'connect-json-h2', transport: 'h2', contentType: 'application/json', binary: false, enveloped: false, grpcWeb: false },
  { name: 'grpc-h2', transport: 'h2', contentType: 'application/grpc', binary: true, enveloped: true, grpcWeb: false },
  { name: 'grpc-json-h2', transport: 'h2', contentType: 'application/grpc+json', binary: false, enveloped: true, grpcWeb: false },
  { name: 'grpc-web-proto-h1', transport: 'h1', contentType: 'application/grpc-web+proto', binary: true, enveloped: true, grpcWeb: true },
  { name: 'grpc-web-json-h1', transport: 'h1', contentType: 'application/grpc-web+json', binary: false, enveloped: true, grpcWeb: true },
  { name: 'grpc-web-h2', transport: 'h2', contentType: 'application/grpc-web', binary: true, enveloped: true, grpcWeb: true },
];

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** Headers that differ between any two answers (or servers) and say nothing about the protocol. */
const VOLATILE = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

function plainHeaders(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(h ?? {})) {
    if (k.startsWith(':') || VOLATILE.has(k) || val === undefined) continue;
    out[k] = Array.isArray(val) ? val.join(', ') : String(val);
  }
  return out;
}

function rawH1(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, chunked = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: chunked || !body ? headers : { ...headers, 'content-length': String(body.length) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: plainHeaders(res.headers), trailers: plainHeaders(res.trailers), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // A refusal before the whole body is sent closes the connection: the answer is what counts.
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

function rawH2(port: number, path: string, headers: Record<string, string>, body: Buffer, withLength = true): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, ...headers, ...(withLength ? { 'content-length': String(body.length) } : {}) });
    let responseHeaders: Record<string, string> = {};
    let status = 0;
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = plainHeaders(h);
    });
    stream.on('trailers', (t) => (trailers = plainHeaders(t)));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined); // a RST_STREAM(NO_ERROR) after a refusal
    stream.on('close', () => {
      session.close();
      resolve({ status, headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    stream.end(body);
  });
}

/** Envelopes of a gRPC or gRPC-Web body. */
function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out = [];
  for (let i = 0; i + 5 <= body.length; ) {
    const length = body.readUInt32BE(i + 1);
    out.push({ flags: body[i]!, data: body.subarray(i + 5, i + 5 + length) });
    i += 5 + length;
  }
  return out;
}

/** Times in messages (a revocation's, say) differ between the two servers. */
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}(:|%3A)\d{2}(:|%3A)\d{2}\.\d{3}Z/g;
const withoutTimes = (s: string) => s.replace(ISO_TIME, '<time>');

/** Resolve ids and tokens are new on every call: their shape is kept, their value is not. */
function normaliseJson(value: unknown): unknown {
  if (typeof value === 'string') return withoutTimes(value);
  if (Array.isArray(value)) return value.map(normaliseJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(value)) {
      if (k === 'resolveToken' || k === 'resolveId') out[k] = typeof val === 'string' && val.length > 0 ? `<${k}>` : val;
      else if (k === 'retryDelay') out[k] = '<delay>';
      else out[k] = normaliseJson(val);
    }
    return out;
  }
  return value;
}

function statusDetails(bin: string): unknown {
  const status = fromBinary(StatusSchema, Buffer.from(bin, 'base64'));
  return normaliseJson({ code: status.code, message: status.message, details: status.details.map((d) => toJson(registry.getMessage(d.typeUrl.slice(d.typeUrl.lastIndexOf('/') + 1))!, anyUnpack(d, registry)!)) });
}

function normaliseHeaders(h: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(h)) {
    if (k === 'x-ratelimit-reset' || k === 'retry-after') out[k] = /^\d+$/.test(val) ? '<seconds>' : val;
    else if (k === 'x-ratelimit-remaining' && h['x-ratelimit-limit'] !== String(LONG_WINDOW.requests) && h['x-ratelimit-limit'] !== '1') out[k] = /^\d+$/.test(val) ? '<count>' : val;
    else if (k === 'grpc-status-details-bin') out[k] = statusDetails(val);
    else if (k === 'content-length') out[k] = '<length>'; // tokens differ in length between servers
    else out[k] = withoutTimes(val);
  }
  return out;
}

/** An answer as the comparison sees it, and the code and reason it carries. */
function observe(answer: RawAnswer, variant: Variant, method: Method) {
  const output = SCHEMAS[method].output;
  let body: unknown;
  let trailerFrame: Record<string, unknown> | undefined;
  let code: string;
  let reason: string | undefined;
  const encoding = answer.headers['content-encoding'] ?? answer.headers['grpc-encoding'];
  if (!variant.enveloped) {
    const bytes = encoding === 'gzip' ? gunzipSync(answer.body) : encoding === 'br' ? brotliDecompressSync(answer.body) : answer.body;
    if (answer.status === 200) {
      body = normaliseJson(variant.binary ? toJson(output, fromBinary(output, bytes)) : JSON.parse(bytes.toString()));
      code = 'OK';
    } else {
      const error = JSON.parse(bytes.toString()) as { code: string; details?: { type: string; debug?: { reason?: string } }[] };
      body = normaliseJson(error);
      code = error.code.toUpperCase();
      reason = error.details?.find((d) => d.type === 'google.rpc.ErrorInfo')?.debug?.reason;
    }
  } else {
    const frames = envelopes(answer.body).map((e) => {
      const data = (e.flags & 1) === 1 ? gunzipSync(e.data) : e.data;
      if ((e.flags & 0x80) === 0x80) {
        const t: Record<string, string> = {};
        for (const line of data.toString().split('\r\n')) if (line) t[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1).trim();
        trailerFrame = normaliseHeaders(t);
        return { flags: e.flags, trailer: trailerFrame };
      }
      return { flags: e.flags, message: normaliseJson(variant.binary ? toJson(output, fromBinary(output, data)) : JSON.parse(data.toString())) };
    });
    body = frames;
    const t = (trailerFrame ?? normaliseHeaders(answer.trailers)) as Record<string, unknown>;
    const status = String(t['grpc-status'] ?? answer.headers['grpc-status']);
    code = status === '0' ? 'OK' : GRPC_CODE_NAMES[Number(status)]!;
    const details = t['grpc-status-details-bin'] as { details?: { reason?: string }[] } | undefined;
    reason = details?.details?.find((d) => d.reason !== undefined)?.reason;
  }
  return { code, reason, observation: { status: answer.status, headers: normaliseHeaders(answer.headers), trailers: normaliseHeaders(answer.trailers), body } };
}

const GRPC_CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

function encodeRequest(method: Method, message: Record<string, unknown>, variant: Variant, override?: (binary: boolean) => Buffer): Buffer {
  const schema = SCHEMAS[method].input;
  const raw = override ? override(variant.binary) : variant.binary ? Buffer.from(toBinary(schema, create(schema, message as never))) : Buffer.from(toJsonString(schema, fromJson(schema, message as JsonValue)));
  return variant.enveloped ? Buffer.from(encodeEnvelope(0, raw)) : raw;
}

function send(side: Side, variant: Variant, method: Method, headers: Record<string, string>, body: Buffer): Promise<RawAnswer> {
  const all = { 'content-type': variant.contentType, ...(variant.enveloped && !variant.grpcWeb ? { te: 'trailers' } : {}), ...headers };
  return variant.transport === 'h1' ? rawH1(side.server.port, 'POST', `${SERVICE}/${method}`, all, body) : rawH2(side.server.port, `${SERVICE}/${method}`, all, body);
}

describe('the lean runtime path answers every protocol exactly as the Connect adapter does', () => {
  let lean: Side;
  let adapter: Side;
  beforeAll(async () => {
    [lean, adapter] = await Promise.all([Side.start(true), Side.start(false)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([lean?.server.close(), adapter?.server.close()]);
  });

  /** The same call on both servers: both observations, which must be equal. */
  async function both(run: (side: Side) => Promise<RawAnswer>, variant: Variant, method: Method) {
    const [a, b] = [await run(lean), await run(adapter)];
    const oa = observe(a, variant, method);
    const ob = observe(b, variant, method);
    expect(oa.observation).toEqual(ob.observation);
    return oa;
  }

  describe.each(VARIANTS.map((v) => [v.name, v] as const))('raw %s', (_name, variant) => {
    it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_n, scenario) => {
      const result = await both(
        async (side) => {
          const headers = await scenario.headers(side, variant.name);
          const body = encodeRequest(scenario.method, await scenario.message(side), variant, scenario.body);
          if (scenario.warmUp) await send(side, variant, scenario.method, headers, body);
          return send(side, variant, scenario.method, headers, body);
        },
        variant,
        scenario.method,
      );
      expect({ code: result.code, reason: scenario.expected.reason === undefined ? undefined : result.reason }).toEqual({ code: scenario.expected.code, reason: scenario.expected.reason });
    });

    it('is served by the lean path on the lean server, and by the adapter when the lean path steps aside', async () => {
      const pathOf = async (side: Side, id: string) => {
        await new Promise((r) => setTimeout(r, 20));
        return side.server.logs.lines.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.requestId === id)?.rpcPath ?? 'adapter';
      };
      const cases: [string, (side: Side) => Promise<[Record<string, string>, Buffer]>, string][] = [
        ['common', async (side) => [await bearer(side.secret('main')), encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)], 'lean'],
        ['refused', async () => [{}, encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)], 'lean'],
        ['malformed', async (side) => [await bearer(side.secret('main')), encodeRequest('ResolveFlags', {}, variant, () => Buffer.from([0x0a, 0xff]))], 'adapter'],
        [
          'compressed',
          async (side) => {
            const raw = gzipSync(encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, { ...variant, enveloped: false }));
            return [{ ...(await bearer(side.secret('main'))), [variant.enveloped ? 'grpc-encoding' : 'content-encoding']: 'gzip' }, variant.enveloped ? Buffer.from(encodeEnvelope(1, raw)) : raw];
          },
          'adapter',
        ],
      ];
      for (const [name, build, expected] of cases) {
        const paths = [];
        for (const side of [lean, adapter]) {
          const id = `path-${variant.name}-${name}-${side === lean ? 'lean' : 'adapter'}`;
          const [headers, body] = await build(side);
          await send(side, variant, 'ResolveFlags', { ...headers, 'x-request-id': id }, body);
          paths.push(await pathOf(side, id));
        }
        expect([name, ...paths]).toEqual([name, expected, 'adapter']);
      }
    });

    it('serves gRPC on HTTP/2 straight from the stream (http2Api core), and everything else from Node compatibility objects', async () => {
      const grpcOnHttp2 = variant.transport === 'h2' && variant.enveloped && !variant.grpcWeb;
      const logged = async (side: Side, id: string) => {
        await new Promise((r) => setTimeout(r, 20));
        const l = side.server.logs.lines.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.requestId === id);
        return { rpcPath: l?.rpcPath ?? 'adapter', http2Api: l?.http2Api ?? 'compat', status: l?.status, code: l?.code };
      };
      const cases: [string, (side: Side) => Promise<[Record<string, string>, Buffer]>, { rpcPath: string; http2Api: string; status: number; code: string }][] = [
        ['common', async (side) => [await bearer(side.secret('main')), encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)], { rpcPath: 'lean', http2Api: grpcOnHttp2 ? 'core' : 'compat', status: 200, code: 'OK' }],
        // Refused by the lean path itself: still on the stream, with the refusal's status and code in the log line.
        ['refused', async () => [{}, encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)], { rpcPath: 'lean', http2Api: grpcOnHttp2 ? 'core' : 'compat', status: variant.enveloped ? 200 : 401, code: 'UNAUTHENTICATED' }],
        // A body the lean path hands to the adapter gets the compatibility objects after all.
        ['malformed', async (side) => [await bearer(side.secret('main')), encodeRequest('ResolveFlags', {}, variant, () => Buffer.from([0x0a, 0xff]))], { rpcPath: 'adapter', http2Api: 'compat', status: 200, code: 'INVALID_ARGUMENT' }],
        // With an Origin (a browser's call, CORS): the request handler, with Node's compatibility objects.
        ['with an origin', async (side) => [{ ...(await bearer(side.secret('main'))), origin: ORIGIN }, encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)], { rpcPath: 'lean', http2Api: 'compat', status: 200, code: 'OK' }],
      ];
      for (const [name, build, expected] of cases) {
        const status = name === 'malformed' && !variant.enveloped ? 400 : expected.status;
        // Both servers get each call, so that their rate-limit counts stay equal for the other tests.
        for (const side of [lean, adapter]) {
          const id = `api-${variant.name}-${name.replace(/ /g, '-')}-${side === lean ? 'lean' : 'adapter'}`;
          const [headers, body] = await build(side);
          await send(side, variant, 'ResolveFlags', { ...headers, 'x-request-id': id }, body);
          const want = side === lean ? { ...expected, status } : { ...expected, status, rpcPath: 'adapter', http2Api: 'compat' };
          expect([name, await logged(side, id)]).toEqual([name, want]);
        }
      }
    });

    it('answers with CORS headers for an allowed origin', async () => {
      const result = await both(
        async (side) => send(side, variant, 'ResolveFlags', { ...(await bearer(side.secret('main'))), origin: ORIGIN }, encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant)),
        variant,
        'ResolveFlags',
      );
      expect(result.observation.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(result.observation.headers['access-control-expose-headers']).toContain('X-RateLimit-Remaining');
    });

    it('compresses a large answer when the client accepts gzip, as the adapter does', async () => {
      const accept: Record<string, string> = variant.enveloped ? { 'grpc-accept-encoding': 'gzip' } : { 'accept-encoding': 'gzip' };
      const result = await both(
        async (side) => send(side, variant, 'ResolveFlags', { ...(await bearer(side.secret('main'))), ...accept }, encodeRequest('ResolveFlags', {}, variant)),
        variant,
        'ResolveFlags',
      );
      expect(result.code).toBe('OK');
      expect(result.observation.headers[variant.enveloped ? 'grpc-encoding' : 'content-encoding']).toBe('gzip');
    });

    it('takes a compressed request (the adapter decompresses it)', async () => {
      const result = await both(
        async (side) => {
          const message = encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, { ...variant, enveloped: false });
          const compressed = gzipSync(message);
          const body = variant.enveloped ? Buffer.from(encodeEnvelope(1, compressed)) : compressed;
          const enc: Record<string, string> = variant.enveloped ? { 'grpc-encoding': 'gzip' } : { 'content-encoding': 'gzip' };
          return send(side, variant, 'ResolveFlags', { ...(await bearer(side.secret('main'))), ...enc }, body);
        },
        variant,
        'ResolveFlags',
      );
      expect(result.code).toBe('OK');
    });

    it('refuses a body over READ_MAX_BYTES with RESOURCE_EXHAUSTED', async () => {
      const big = Buffer.alloc(READ_MAX_BYTES + 10, 0x20);
      const result = await both(
        async (side) => {
          const headers = { 'content-type': variant.contentType, ...(await bearer(side.secret('main'))) };
          // Without Content-Length, so that the limit is met while reading (a declared length is refused before).
          const body = variant.enveloped ? Buffer.concat([Buffer.from([0, ...[0, 0, 0, 0]]).fill(0xff, 1, 2), big]) : big;
          if (variant.enveloped) body.writeUInt32BE(big.length, 1);
          return variant.transport === 'h1' ? rawH1(side.server.port, 'POST', `${SERVICE}/ResolveFlags`, { ...headers, 'transfer-encoding': 'chunked' }, body, true) : rawH2(side.server.port, `${SERVICE}/ResolveFlags`, headers, body, false);
        },
        variant,
        'ResolveFlags',
      );
      expect(result.code).toBe('RESOURCE_EXHAUSTED');
    });

    it('sends two envelopes or a truncated one to the adapter, which refuses them', async () => {
      if (!variant.enveloped) return;
      for (const shape of ['two', 'truncated', 'empty']) {
        const result = await both(
          async (side) => {
            const one = encodeRequest('ResolveFlags', { flags: ['flags/alpha'] }, variant);
            const body = shape === 'two' ? Buffer.concat([one, one]) : shape === 'truncated' ? one.subarray(0, one.length - 1) : Buffer.alloc(0);
            return send(side, variant, 'ResolveFlags', await bearer(side.secret('main')), body);
          },
          variant,
          'ResolveFlags',
        );
        expect([shape, result.code]).toEqual([shape, shape === 'truncated' ? 'INVALID_ARGUMENT' : 'UNIMPLEMENTED']);
      }
    });
  });

  it('leaves Connect GET to the adapter (ResolveFlags is not side-effect free: 405 on both)', async () => {
    // The adapter's 405 has no body: compare the raw answers instead of decoding one.
    const get = async (side: Side) => rawH1(side.server.port, 'GET', `${SERVICE}/ResolveFlags?connect=v1&encoding=json&message=%7B%7D`, await bearer(side.secret('main')), undefined);
    const [a, b] = [await get(lean), await get(adapter)];
    expect({ status: a.status, headers: normaliseHeaders(a.headers), body: a.body.toString() }).toEqual({ status: b.status, headers: normaliseHeaders(b.headers), body: b.body.toString() });
    expect(a.status).toBe(405);
  });

  it('records the same outcome in the request log on both paths', async () => {
    for (const side of [lean, adapter]) {
      await send(side, VARIANTS[0]!, 'ResolveFlags', { 'x-request-id': `log-${side === lean ? 'lean' : 'adapter'}` }, encodeRequest('ResolveFlags', { flags: [] }, VARIANTS[0]!));
    }
    await new Promise((r) => setTimeout(r, 50));
    const line = (side: Side, id: string) => {
      const l = side.server.logs.lines.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.requestId === id)!;
      return { procedure: l.procedure, status: l.status, code: l.code, reason: l.reason, msg: l.msg };
    };
    expect(line(lean, 'log-lean')).toEqual(line(adapter, 'log-adapter'));
    expect(line(lean, 'log-lean')).toEqual({ procedure: `${SERVICE}/ResolveFlags`, status: 401, code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING', msg: 'request' });
  });

  /** The real clients: what each sees of an answer (code, ErrorInfo reason, headers, trailers, message). */
  describe('real clients', () => {
    const connectTransports: [string, (baseUrl: string) => Transport][] = [
      ['Connect JSON on HTTP/1.1', (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '1.1' })],
      ['Connect binary on HTTP/2', (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '2', useBinaryFormat: true })],
      ['gRPC binary', (baseUrl) => createGrpcTransport({ baseUrl })],
      ['gRPC JSON', (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: false })],
      ['gRPC-Web binary on HTTP/1.1', (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: '1.1' })],
      ['gRPC-Web JSON on HTTP/2', (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: '2', useBinaryFormat: false })],
    ];
    const clientScenarios = SCENARIOS.filter((s) => s.body === undefined);

    const seen = (h: Headers) => {
      const out: Record<string, string> = {};
      h.forEach((val, k) => {
        if (!VOLATILE.has(k)) out[k] = val;
      });
      return normaliseHeaders(out);
    };

    describe.each(connectTransports)('Connect for Node, %s', (transportName, makeTransport) => {
      it.each(clientScenarios.map((s) => [s.name, s] as const))('%s', async (_n, scenario) => {
        const run = async (side: Side) => {
          const client = createClient(FlagResolverService, makeTransport(side.server.baseUrl));
          const headers = await scenario.headers(side, `client-${transportName}`);
          const message = await scenario.message(side);
          let header: Record<string, unknown> = {};
          let trailer: Record<string, unknown> = {};
          const options = { headers, onHeader: (h: Headers) => (header = seen(h)), onTrailer: (t: Headers) => (trailer = seen(t)) };
          const call = () => {
            if (scenario.method === 'ResolveFlags') return client.resolveFlags(message as never, options);
            if (scenario.method === 'ResolveConfigs') return client.resolveConfigs(message as never, options);
            return client.applyFlags(message as never, options);
          };
          if (scenario.warmUp) await call();
          try {
            const res = await call();
            return { code: 'OK', header, trailer, response: normaliseJson(toJson(SCHEMAS[scenario.method].output, res as never)) };
          } catch (err) {
            const e = ConnectError.from(err);
            return { code: GRPC_CODE_NAMES[e.code], reason: e.findDetails(ErrorInfoSchema)[0]?.reason, message: withoutTimes(e.rawMessage), metadata: seen(e.metadata), header, trailer };
          }
        };
        const a = await run(lean);
        const b = await run(adapter);
        expect(a).toEqual(b);
        expect({ code: a.code, reason: scenario.expected.reason === undefined ? undefined : a.reason }).toEqual({ code: scenario.expected.code, reason: scenario.expected.reason });
      });
    });

    describe('@grpc/grpc-js', () => {
      it.each(clientScenarios.map((s) => [s.name, s] as const))('%s', async (_n, scenario) => {
        const run = async (side: Side) => {
          const { input, output } = SCHEMAS[scenario.method];
          const client = new grpc.Client(`127.0.0.1:${side.server.port}`, grpc.credentials.createInsecure());
          const md = new grpc.Metadata();
          for (const [k, val] of Object.entries(await scenario.headers(side, 'grpc-js'))) md.set(k, val);
          const message = create(input, (await scenario.message(side)) as never);
          const call = () =>
            new Promise<Record<string, unknown>>((resolve) => {
              let header: Record<string, unknown> = {};
              const c = client.makeUnaryRequest(`${SERVICE}/${scenario.method}`, (m: typeof message) => Buffer.from(toBinary(input, m)), (b: Buffer) => fromBinary(output, b), message, md, (err, value) => {
                if (!err) resolve({ code: 'OK', header, response: normaliseJson(toJson(output, value as never)) });
                else {
                  const map = Object.fromEntries(Object.entries(err.metadata.getMap()).map(([k, val]) => [k, Buffer.isBuffer(val) ? val.toString('base64') : String(val)]));
                  resolve({ code: GRPC_CODE_NAMES[err.code], message: withoutTimes(err.details), header, metadata: normaliseHeaders(map) });
                }
              });
              c.on('metadata', (m: grpc.Metadata) => (header = normaliseHeaders(Object.fromEntries(Object.entries(m.getMap()).filter(([k]) => !VOLATILE.has(k)).map(([k, val]) => [k, String(val)])))));
            });
          try {
            if (scenario.warmUp) await call();
            return await call();
          } finally {
            client.close();
          }
        };
        const a = await run(lean);
        const b = await run(adapter);
        expect(a).toEqual(b);
        expect(a.code).toBe(scenario.expected.code);
      });
    });
  });
});

describe('gRPC served straight from the HTTP/2 stream keeps the connection limits and the drain', () => {
  let server: TestServer;
  let secret: string;
  beforeAll(async () => {
    // A body timeout well under a second; every wait below is many times longer (no timing limit is asserted).
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, bodyTimeoutMs: '400' });
    const admin = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
    await connectClient(server, ClientCredentialService, admin).createClient({ clientId: 'app' });
    const credential = await connectClient(server, ClientCredentialService, admin).createClientCredential({
      parent: 'clients/app',
      credentialId: 'main',
      credential: { format: Format.CLIENT_SECRET, class: Class.SECRET, projects: ['*'], scopes: ['flags:read'] },
    });
    secret = credential.secret;
  });
  afterAll(async () => {
    await server?.close();
  });

  const grpcBody = () => Buffer.from(encodeEnvelope(0, toBinary(ResolveFlagsRequestSchema, create(ResolveFlagsRequestSchema, { flags: ['flags/nope'] }))));
  const open = (session: http2.ClientHttp2Session, id: string) => {
    const stream = session.request({ ':method': 'POST', ':path': `${SERVICE}/ResolveFlags`, 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${secret}`, 'x-request-id': id });
    stream.on('error', () => undefined);
    return stream;
  };
  const answerOf = (stream: http2.ClientHttp2Stream) =>
    new Promise<{ status: number; grpcStatus: string | undefined; rstCode: number | undefined }>((resolve) => {
      let status = 0;
      let grpcStatus: string | undefined;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('trailers', (t) => (grpcStatus = String(t['grpc-status'])));
      stream.resume();
      stream.on('close', () => resolve({ status, grpcStatus, rstCode: stream.rstCode }));
    });
  const logLine = async (id: string) => {
    await new Promise((r) => setTimeout(r, 50));
    return server.logs.lines.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.requestId === id);
  };

  it('resets a stalled gRPC body with CANCEL and keeps serving the session from the stream', async () => {
    const session = http2.connect(server.baseUrl);
    session.on('error', () => undefined);
    const stalled = open(session, 'stalled-grpc');
    const stalledAnswer = answerOf(stalled);
    stalled.write(grpcBody().subarray(0, 3)); // part of the envelope's prefix, then nothing
    expect(await stalledAnswer).toEqual({ status: 0, grpcStatus: undefined, rstCode: http2.constants.NGHTTP2_CANCEL });

    const next = open(session, 'after-stalled-grpc');
    const nextAnswer = answerOf(next);
    next.end(grpcBody());
    expect(await nextAnswer).toEqual({ status: 200, grpcStatus: '0', rstCode: http2.constants.NGHTTP2_NO_ERROR });
    expect(await logLine('after-stalled-grpc')).toEqual(expect.objectContaining({ rpcPath: 'lean', http2Api: 'core', status: 200, code: 'OK' }));
    session.close();
  });

  it('answers a gRPC call in flight when the server drains (GOAWAY), then closes the session', async () => {
    const session = http2.connect(server.baseUrl);
    session.on('error', () => undefined);
    const goaways: number[] = [];
    session.on('goaway', (code: number) => goaways.push(code));
    const call = open(session, 'draining-grpc');
    const answer = answerOf(call);
    const body = grpcBody();
    call.write(body.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 100)); // the stream is open on the server
    const closing = server.app.close();
    await new Promise((r) => setTimeout(r, 100)); // the GOAWAY is out
    call.end(body.subarray(3));
    expect(await answer).toEqual({ status: 200, grpcStatus: '0', rstCode: http2.constants.NGHTTP2_NO_ERROR });
    await closing;
    // Node's graceful close sends GOAWAY NO_ERROR twice (first with the highest stream id, then the last one it took).
    expect([...new Set(goaways)]).toEqual([http2.constants.NGHTTP2_NO_ERROR]);
    expect(await logLine('draining-grpc')).toEqual(expect.objectContaining({ rpcPath: 'lean', http2Api: 'core', status: 200, code: 'OK' }));
    session.destroy();
  });
});
