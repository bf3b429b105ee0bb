import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { ApiClientSchema, type ApiClient } from '../../gen/latchkey/iam/v1/api_client_pb.js';
import { ApiClientService } from '../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { RoleSchema } from '../../gen/latchkey/iam/v1/role_pb.js';
import { apiClientOf } from '../auth/principal.js';
import { BUILT_IN_ROLES, roleByName } from '../auth/roles.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { notFound, parseName } from '../domain/names.js';
import type { ApiClients, ApiClientInput } from '../iam/api-clients.js';
import type { ApiClientRecord } from '../iam/model.js';
import { ts } from './convert.js';
import { STRICT_JSON } from './strict-json.js';

function toProto(r: ApiClientRecord, secret?: string): ApiClient {
  return create(ApiClientSchema, {
    name: `apiClients/${r.id}`,
    clientId: r.clientId,
    clientSecret: secret ?? '',
    displayName: r.displayName,
    description: r.description,
    labels: r.labels,
    roles: r.roles,
    permissions: r.permissions,
    createTime: ts(r.createTime),
    updateTime: ts(r.updateTime),
    creator: r.creator ?? '',
    updater: r.updater ?? '',
    etag: r.etag,
  });
}

function inputOf(a: ApiClient | undefined): ApiClientInput {
  return {
    displayName: a?.displayName ?? '',
    description: a?.description ?? '',
    labels: { ...(a?.labels ?? {}) },
    roles: [...(a?.roles ?? [])],
    permissions: [...(a?.permissions ?? [])],
  };
}

const roleProto = (r: (typeof BUILT_IN_ROLES)[number]) =>
  create(RoleSchema, { name: r.name, displayName: r.displayName, description: r.description, permissions: [...r.permissions] });

export function registerApiClientService(router: ConnectRouter, apiClients: ApiClients): void {
  router.service(ApiClientService, {
    async createApiClient(req, ctx) {
      const actor = apiClientOf(ctx.values).name;
      const { record, secret } = await apiClients.create(req.apiClientId, inputOf(req.apiClient), actor);
      return toProto(record, secret);
    },
    async getApiClient(req) {
      return toProto(await apiClients.get(req.name));
    },
    async listApiClients(req) {
      const page = await apiClients.list(req.pageSize, req.pageToken);
      return { apiClients: page.items.map((r) => toProto(r)), nextPageToken: page.nextPageToken };
    },
    async updateApiClient(req, ctx) {
      const actor = apiClientOf(ctx.values).name;
      const a = req.apiClient;
      return toProto(await apiClients.update(a?.name ?? '', inputOf(a), req.updateMask?.paths ?? [], actor, a?.etag));
    },
    async deleteApiClient(req) {
      await apiClients.delete(req.name, req.etag);
      return {};
    },
    async rotateApiClientSecret(req, ctx) {
      const { record, secret } = await apiClients.rotateSecret(req.name, apiClientOf(ctx.values).name);
      return toProto(record, secret);
    },
    listRoles(req) {
      const page = pageRequest(req.pageSize, req.pageToken, 'roles');
      const rest = BUILT_IN_ROLES.filter((r) => page.after === undefined || r.name > page.after);
      const { items, nextPageToken } = pageOf(rest.slice(0, page.pageSize + 1), page, (r) => r.name, 'roles');
      return { roles: items.map(roleProto), nextPageToken };
    },
    getRole(req) {
      parseName(req.name, ['roles']);
      const role = roleByName(req.name);
      if (!role) throw notFound(req.name);
      return roleProto(role);
    },
  }, STRICT_JSON);
}
