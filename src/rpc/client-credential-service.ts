import { create } from '@bufbuild/protobuf';
import { durationFromMs, durationMs } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { ClientSchema, type Client } from '../../gen/latchkey/clients/v1/client_pb.js';
import {
  ClientCredentialSchema,
  ClientCredential_Class as ProtoClass,
  ClientCredential_Format as ProtoFormat,
  ClientCredential_State as ProtoState,
  type ClientCredential,
} from '../../gen/latchkey/clients/v1/client_credential_pb.js';
import { ClientCredentialService } from '../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { apiClientOf } from '../auth/principal.js';
import type { ClientCredentials, ClientInput, CredentialInput } from '../client-credentials/client-credentials.js';
import { clientName, credentialName, type ClientRecord, type CredentialClass, type CredentialFormat, type CredentialRecord } from '../client-credentials/model.js';
import { invalidArgument } from '../domain/errors.js';
import { dateOf, ts } from './convert.js';
import { STRICT_JSON } from './strict-json.js';

const CLASS_FROM_PROTO: Partial<Record<ProtoClass, CredentialClass>> = { [ProtoClass.PUBLISHABLE]: 'PUBLISHABLE', [ProtoClass.SECRET]: 'SECRET' };
const CLASS_TO_PROTO: Record<CredentialClass, ProtoClass> = { PUBLISHABLE: ProtoClass.PUBLISHABLE, SECRET: ProtoClass.SECRET };
const FORMAT_FROM_PROTO: Partial<Record<ProtoFormat, CredentialFormat>> = {
  [ProtoFormat.KEY_PAIR]: 'KEY_PAIR',
  [ProtoFormat.CLIENT_SECRET]: 'CLIENT_SECRET',
  [ProtoFormat.UNLEASH]: 'UNLEASH',
  [ProtoFormat.PUBLISHABLE_KEY]: 'PUBLISHABLE_KEY',
  [ProtoFormat.SECRET_KEY]: 'SECRET_KEY',
  [ProtoFormat.IMPORTED]: 'IMPORTED',
};
const FORMAT_TO_PROTO = Object.fromEntries(Object.entries(FORMAT_FROM_PROTO).map(([k, v]) => [v, Number(k)])) as Record<CredentialFormat, ProtoFormat>;

function clientToProto(c: ClientRecord): Client {
  return create(ClientSchema, {
    name: clientName(c.id),
    displayName: c.displayName,
    description: c.description,
    labels: c.labels,
    createTime: ts(c.createTime),
    updateTime: ts(c.updateTime),
    creator: c.creator ?? '',
    updater: c.updater ?? '',
    etag: c.etag,
  });
}

function clientInput(c: Client | undefined): ClientInput {
  return { displayName: c?.displayName ?? '', description: c?.description ?? '', labels: { ...(c?.labels ?? {}) } };
}

export function credentialToProto(c: CredentialRecord): ClientCredential {
  return create(ClientCredentialSchema, {
    name: credentialName(c),
    displayName: c.displayName,
    class: CLASS_TO_PROTO[c.class],
    format: FORMAT_TO_PROTO[c.format],
    environments: c.environments,
    projects: c.projects,
    scopes: c.scopes,
    allowedOrigins: c.allowedOrigins,
    allowedIpRanges: c.allowedIpRanges,
    rateLimit: c.rateLimit ? { requests: c.rateLimit.requests, window: durationFromMs(c.rateLimit.windowMs) } : undefined,
    expireTime: ts(c.expireTime),
    state: c.state === 'ACTIVE' ? ProtoState.ACTIVE : ProtoState.REVOKED,
    revokeTime: ts(c.revokeTime),
    lastUseTime: ts(c.lastUseTime),
    previousSecretExpireTime: ts(c.previousSecretExpireTime),
    secretHint: c.secretHint,
    clientId: c.publicId ?? '',
    createTime: ts(c.createTime),
    updateTime: ts(c.updateTime),
    creator: c.creator ?? '',
    updater: c.updater ?? '',
    etag: c.etag,
  });
}

function credentialInput(c: ClientCredential | undefined): CredentialInput {
  const violations = [];
  const cls = c ? CLASS_FROM_PROTO[c.class] : undefined;
  const format = c ? FORMAT_FROM_PROTO[c.format] : undefined;
  if (c && c.class !== ProtoClass.UNSPECIFIED && cls === undefined) violations.push({ field: 'credential.class', description: `unknown class ${c.class}` });
  if (c && c.format !== ProtoFormat.UNSPECIFIED && format === undefined) violations.push({ field: 'credential.format', description: `unknown format ${c.format}` });
  if (violations.length > 0) throw invalidArgument(violations);
  return {
    displayName: c?.displayName ?? '',
    class: cls,
    format,
    environments: [...(c?.environments ?? [])],
    projects: [...(c?.projects ?? [])],
    scopes: [...(c?.scopes ?? [])],
    allowedOrigins: [...(c?.allowedOrigins ?? [])],
    allowedIpRanges: [...(c?.allowedIpRanges ?? [])],
    rateLimit: c?.rateLimit ? { requests: c.rateLimit.requests, windowMs: c.rateLimit.window ? durationMs(c.rateLimit.window) : 0 } : null,
    expireTime: dateOf(c?.expireTime) ?? null,
  };
}

export function registerClientCredentialService(router: ConnectRouter, credentials: ClientCredentials): void {
  const actor = (values: Parameters<typeof apiClientOf>[0]) => apiClientOf(values).name;
  const withSecret = (r: { credential: CredentialRecord; secret: string }) => ({ credential: credentialToProto(r.credential), secret: r.secret });
  router.service(ClientCredentialService, {
    async createClient(req, ctx) {
      return clientToProto(await credentials.createClient(req.clientId, clientInput(req.client), actor(ctx.values)));
    },
    async getClient(req) {
      return clientToProto(await credentials.getClient(req.name));
    },
    async listClients(req) {
      const page = await credentials.listClients(req.pageSize, req.pageToken);
      return { clients: page.items.map(clientToProto), nextPageToken: page.nextPageToken };
    },
    async updateClient(req, ctx) {
      const c = req.client;
      return clientToProto(await credentials.updateClient(c?.name ?? '', clientInput(c), req.updateMask?.paths ?? [], actor(ctx.values), c?.etag));
    },
    async deleteClient(req) {
      await credentials.deleteClient(req.name, req.etag);
      return {};
    },
    async createClientCredential(req, ctx) {
      return withSecret(await credentials.createCredential(req.parent, req.credentialId, credentialInput(req.credential), actor(ctx.values)));
    },
    async importClientCredential(req, ctx) {
      return withSecret(await credentials.importCredential(req.parent, req.credentialId, credentialInput(req.credential), req.secret, actor(ctx.values)));
    },
    async getClientCredential(req) {
      return credentialToProto(await credentials.getCredential(req.name));
    },
    async listClientCredentials(req) {
      const page = await credentials.listCredentials(req.parent, req.pageSize, req.pageToken);
      return { credentials: page.items.map(credentialToProto), nextPageToken: page.nextPageToken };
    },
    async updateClientCredential(req, ctx) {
      const c = req.credential;
      return credentialToProto(await credentials.updateCredential(c?.name ?? '', credentialInput(c), req.updateMask?.paths ?? [], actor(ctx.values), c?.etag));
    },
    async revokeClientCredential(req, ctx) {
      return credentialToProto(await credentials.revokeCredential(req.name, actor(ctx.values)));
    },
    async rotateClientCredential(req, ctx) {
      const grace = req.gracePeriod ? durationMs(req.gracePeriod) : undefined;
      return withSecret(await credentials.rotateCredential(req.name, grace, actor(ctx.values)));
    },
    async deleteClientCredential(req) {
      await credentials.deleteCredential(req.name, req.etag);
      return {};
    },
  }, STRICT_JSON);
}
