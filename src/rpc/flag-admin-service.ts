/**
 * FlagAdminService: proto ↔ flag admin domain, nothing else (the rules live in src/flag-admin).
 * Enumerations go by name (an unknown number is passed on as its digits, for the domain to
 * refuse); `google.protobuf.Value`s become JSON values.
 */
import { create, fromJson, type JsonValue as PbJsonValue } from '@bufbuild/protobuf';
import { ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { EnvironmentSchema, type Environment } from '../../gen/latchkey/flags/admin/v1/environment_pb.js';
import { FlagAdminService } from '../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import {
  AllocationSchema,
  Condition_Operator,
  ConditionSchema,
  Flag_Kind,
  Flag_State,
  FlagSchema,
  RuleSchema,
  VariantSchema,
  type Flag,
} from '../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { ProjectSchema, type Project } from '../../gen/latchkey/flags/admin/v1/project_pb.js';
import { apiClientOf } from '../auth/principal.js';
import type { EnvironmentInput, Environments } from '../flag-admin/environments.js';
import type { FlagInput, Flags } from '../flag-admin/flags.js';
import type { EnvironmentRecord, FlagRecord, ProjectRecord } from '../flag-admin/model.js';
import type { ProjectInput, Projects } from '../flag-admin/projects.js';
import type { JsonValue } from '../flags/model.js';
import { ts } from './convert.js';
import { STRICT_JSON } from './strict-json.js';

function projectToProto(r: ProjectRecord): Project {
  return create(ProjectSchema, {
    name: `projects/${r.id}`,
    displayName: r.displayName,
    description: r.description,
    createTime: ts(r.createTime),
    updateTime: ts(r.updateTime),
    creator: r.creator ?? '',
    updater: r.updater ?? '',
    etag: r.etag,
  });
}

function projectInputOf(p: Project | undefined): ProjectInput {
  return { displayName: p?.displayName ?? '', description: p?.description ?? '' };
}

function environmentToProto(r: EnvironmentRecord): Environment {
  return create(EnvironmentSchema, {
    name: `environments/${r.id}`,
    displayName: r.displayName,
    description: r.description,
    production: r.production,
    createTime: ts(r.createTime),
    updateTime: ts(r.updateTime),
    creator: r.creator ?? '',
    updater: r.updater ?? '',
    etag: r.etag,
  });
}

function environmentInputOf(e: Environment | undefined): EnvironmentInput {
  return { displayName: e?.displayName ?? '', description: e?.description ?? '', production: e?.production ?? false };
}

const enumName = (names: Record<number, string>, n: number) => names[n] ?? String(n);

/** A JSON value, or undefined for a Value that carries nothing. Non-finite numbers pass through (the domain refuses them). */
export function jsonOf(v: Value | undefined): JsonValue | undefined {
  switch (v?.kind.case) {
    case undefined:
      return undefined;
    case 'nullValue':
      return null;
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return v.kind.value;
    case 'listValue':
      return v.kind.value.values.map((x) => jsonOf(x) ?? null);
    case 'structValue': {
      const out: { [key: string]: JsonValue } = {};
      for (const [key, x] of Object.entries(v.kind.value.fields)) {
        // defineProperty: a key named `__proto__` stays an ordinary own key.
        Object.defineProperty(out, key, { value: jsonOf(x) ?? null, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

export function valueOf(json: JsonValue): Value {
  return fromJson(ValueSchema, json as PbJsonValue);
}

export function flagInputOf(f: Flag | undefined): FlagInput {
  return {
    project: f?.project ?? '',
    description: f?.description ?? '',
    state: enumName(Flag_State, f?.state ?? Flag_State.UNSPECIFIED),
    secret: f?.secret ?? false,
    kind: enumName(Flag_Kind, f?.kind ?? Flag_Kind.UNSPECIFIED),
    variants: (f?.variants ?? []).map((v) => ({ name: v.name, value: jsonOf(v.value) })),
    defaultVariant: f?.defaultVariant ?? '',
    rules: (f?.rules ?? []).map((r) => ({
      name: r.name,
      enabled: r.enabled,
      environments: [...r.environments],
      conditions: r.conditions.map((c) => ({ attribute: c.attribute, operator: enumName(Condition_Operator, c.operator), values: c.values.map(jsonOf) })),
      randomizationUnit: r.randomizationUnit,
      allocations: r.allocations.map((a) => ({ variant: a.variant, weight: a.weight })),
    })),
  };
}

export function flagToProto(r: FlagRecord): Flag {
  return create(FlagSchema, {
    name: `flags/${r.id}`,
    project: `projects/${r.projectId}`,
    description: r.description,
    state: Flag_State[r.state],
    secret: r.secret,
    kind: Flag_Kind[r.kind],
    variants: r.variants.map((v) => create(VariantSchema, { name: v.name, value: valueOf(v.value) })),
    defaultVariant: r.defaultVariant ?? '',
    rules: r.rules.map((rule) =>
      create(RuleSchema, {
        name: rule.name,
        enabled: rule.enabled,
        environments: rule.environments,
        conditions: rule.conditions.map((c) => create(ConditionSchema, { attribute: c.attribute, operator: Condition_Operator[c.operator], values: c.values.map(valueOf) })),
        randomizationUnit: rule.randomizationUnit,
        allocations: rule.allocations.map((a) => create(AllocationSchema, { variant: a.variant, weight: a.weight })),
      }),
    ),
    salt: r.salt,
    createTime: ts(r.createTime),
    updateTime: ts(r.updateTime),
    creator: r.creator ?? '',
    updater: r.updater ?? '',
    etag: r.etag,
  });
}

export interface FlagAdminDomain {
  projects: Projects;
  environments: Environments;
  flags: Flags;
}

export function registerFlagAdminService(router: ConnectRouter, domain: FlagAdminDomain): void {
  const { projects, environments, flags } = domain;
  router.service(FlagAdminService, {
    async createProject(req, ctx) {
      return projectToProto(await projects.create(req.projectId, projectInputOf(req.project), apiClientOf(ctx.values).name));
    },
    async getProject(req) {
      return projectToProto(await projects.get(req.name));
    },
    async listProjects(req) {
      const page = await projects.list(req.pageSize, req.pageToken);
      return { projects: page.items.map(projectToProto), nextPageToken: page.nextPageToken };
    },
    async updateProject(req, ctx) {
      const actor = apiClientOf(ctx.values).name;
      return projectToProto(await projects.update(req.project?.name ?? '', projectInputOf(req.project), req.updateMask?.paths ?? [], actor, req.project?.etag));
    },
    async deleteProject(req) {
      await projects.delete(req.name, req.etag);
      return {};
    },

    async createEnvironment(req, ctx) {
      return environmentToProto(await environments.create(req.environmentId, environmentInputOf(req.environment), apiClientOf(ctx.values).name));
    },
    async getEnvironment(req) {
      return environmentToProto(await environments.get(req.name));
    },
    async listEnvironments(req) {
      const page = await environments.list(req.pageSize, req.pageToken);
      return { environments: page.items.map(environmentToProto), nextPageToken: page.nextPageToken };
    },
    async updateEnvironment(req, ctx) {
      const actor = apiClientOf(ctx.values).name;
      return environmentToProto(
        await environments.update(req.environment?.name ?? '', environmentInputOf(req.environment), req.updateMask?.paths ?? [], actor, req.environment?.etag),
      );
    },
    async deleteEnvironment(req) {
      await environments.delete(req.name, req.etag);
      return {};
    },

    async createFlag(req, ctx) {
      return flagToProto(await flags.create(req.flagId, flagInputOf(req.flag), apiClientOf(ctx.values).name));
    },
    async getFlag(req) {
      return flagToProto(await flags.get(req.name));
    },
    async listFlags(req) {
      const page = await flags.list(req.parent, req.showArchived, req.pageSize, req.pageToken);
      return { flags: page.items.map(flagToProto), nextPageToken: page.nextPageToken };
    },
    async updateFlag(req, ctx) {
      const actor = apiClientOf(ctx.values).name;
      return flagToProto(await flags.update(req.flag?.name ?? '', flagInputOf(req.flag), req.updateMask?.paths ?? [], actor, req.flag?.etag));
    },
    async archiveFlag(req, ctx) {
      return flagToProto(await flags.archive(req.name, apiClientOf(ctx.values).name));
    },
    async deleteFlag(req) {
      await flags.delete(req.name, req.etag);
      return {};
    },
  }, STRICT_JSON);
}
