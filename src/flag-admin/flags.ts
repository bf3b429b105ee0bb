import { randomBytes } from 'node:crypto';
import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { checkEtag, CONFLICT, etagMismatch, newEtag, untilSwapped } from '../domain/etag.js';
import { alreadyExists, chooseId, idOfReference, isValidId, notFound, parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { checkText, MAX_DESCRIPTION } from '../domain/text-limits.js';
import { FLAG_KINDS, OPERATORS, type FlagKind, type JsonValue, type Operator } from '../flags/model.js';
import { validateFlagDefinition } from '../flags/validate.js';
import { maskPaths, NO_CATALOG, type AfterChange } from './common.js';
import { toDefinition, type ConditionDef, type FlagDefinitionParts, type RuleDef, type VariantDef } from './definition.js';
import type { FlagAdminStore, FlagRecord, FlagState } from './model.js';
import { DEFAULT_PROJECT, projectName } from './projects.js';

/**
 * A flag as a caller sends it, before validation. Enumerations arrive as their names
 * (`BOOLEAN`, `EQUALS` …), `UNSPECIFIED` when unset, or the number when the sender used a value
 * this server does not know; a `google.protobuf.Value` that carries nothing arrives as undefined.
 */
export interface FlagInput {
  /** `projects/{project}`; empty = `projects/default`. */
  project: string;
  description: string;
  state: string;
  secret: boolean;
  kind: string;
  variants: Array<{ name: string; value: JsonValue | undefined }>;
  /** Empty = none. */
  defaultVariant: string;
  rules: Array<{
    name: string;
    enabled: boolean;
    environments: string[];
    conditions: Array<{ attribute: string; operator: string; values: Array<JsonValue | undefined> }>;
    randomizationUnit: string;
    allocations: Array<{ variant: string; weight: number }>;
  }>;
}

/**
 * Fields UpdateFlag may change. `project` may not (a flag's credentials and audit history are
 * tied to it; create a new flag instead); `state` may, so an archived flag can be brought back.
 */
export const FLAG_UPDATABLE_FIELDS = ['description', 'state', 'secret', 'kind', 'variants', 'default_variant', 'rules'] as const;

export const flagName = (id: string) => `flags/${id}`;

/** 96 random bits, base64url: unique per flag, so two flags split the same units independently. */
function newSalt(): string {
  return randomBytes(12).toString('base64url');
}

/** Environment ids a flag's rules name (what a write must find, and hold, in the store). */
export function ruleEnvironments(rules: readonly RuleDef[]): string[] {
  return [...new Set(rules.flatMap((r) => r.environments))];
}

// --- input → definition parts, with a violation for what cannot be represented ---

type Sink = FieldViolation[];

function enumOf<T extends string>(value: string, allowed: readonly T[], field: string, what: string, out: Sink): T | undefined {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  out.push({
    field,
    description: value === 'UNSPECIFIED' ? `required: one of ${allowed.join(', ')}` : `unknown ${what} ${value}; expected one of ${allowed.join(', ')}`,
  });
  return undefined;
}

/** A JSON value with no NaN or infinite numbers (they have no JSON form and cannot be stored). */
function finiteProblem(value: JsonValue): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'numbers must be finite';
  if (Array.isArray(value)) {
    for (const v of value) {
      const p = finiteProblem(v);
      if (p) return p;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) {
      const p = finiteProblem(v);
      if (p) return p;
    }
  }
  return undefined;
}

function valueOf(value: JsonValue | undefined, field: string, out: Sink): JsonValue {
  if (value === undefined) {
    out.push({ field, description: 'required: a value (null, boolean, number, string, list or struct)' });
    return null;
  }
  const problem = finiteProblem(value);
  if (problem) {
    out.push({ field, description: problem });
    return null;
  }
  return value;
}

function variantsOf(input: FlagInput['variants'], out: Sink): VariantDef[] {
  return input.map((v, i) => ({ name: v.name, value: valueOf(v.value, `flag.variants[${i}].value`, out) }));
}

function rulesOf(input: FlagInput['rules'], out: Sink): RuleDef[] {
  return input.map((r, i) => ({
    name: r.name,
    enabled: r.enabled,
    environments: r.environments.map((e) => idOfReference(e, 'environments')),
    conditions: r.conditions.map((c, j): ConditionDef => {
      const at = `flag.rules[${i}].conditions[${j}]`;
      const operator = enumOf<Operator>(c.operator, OPERATORS, `${at}.operator`, 'operator', out);
      return {
        attribute: c.attribute,
        // An unusable operator is passed on as it came (the flag is refused; it is never stored).
        operator: operator ?? (c.operator as Operator),
        values: c.values.map((v, k) => valueOf(v, `${at}.values[${k}]`, out)),
      };
    }),
    randomizationUnit: r.randomizationUnit,
    allocations: r.allocations.map((a) => ({ variant: a.variant, weight: a.weight })),
  }));
}

function stateOf(value: string, out: Sink): FlagState | undefined {
  return enumOf<FlagState>(value, ['ACTIVE', 'ARCHIVED'], 'flag.state', 'state', out);
}

/** `a.b` is `a` itself or lies under it (`a.b.c`, `a.b[0]`). */
const covers = (outer: string, field: string) => field === outer || field.startsWith(`${outer}.`) || field.startsWith(`${outer}[`);

/**
 * Flags (SPEC §6): CRUD, archive, and validation of every definition through the pure flag module.
 * Nothing invalid is ever stored: every problem comes back at once, as field violations.
 */
export class Flags {
  constructor(
    private readonly store: FlagAdminStore,
    private readonly now: () => Date,
    private readonly afterChange: AfterChange = NO_CATALOG,
  ) {}

  async create(requestedId: string, input: FlagInput, actor: string | null): Promise<FlagRecord> {
    const id = chooseId(requestedId, 'flag_id');
    const own: Sink = [];
    const projectId = await this.projectOf(input.project, own);
    own.push(...checkText('flag.description', input.description, MAX_DESCRIPTION));
    const state = input.state === 'UNSPECIFIED' ? 'ACTIVE' : stateOf(input.state, own);
    const kind = enumOf<FlagKind>(input.kind, FLAG_KINDS, 'flag.kind', 'kind', own);
    const parts: FlagDefinitionParts = {
      kind: kind ?? (input.kind as FlagKind),
      variants: variantsOf(input.variants, own),
      defaultVariant: input.defaultVariant === '' ? null : input.defaultVariant,
      rules: rulesOf(input.rules, own),
    };
    const t = this.now();
    const record: FlagRecord = {
      id,
      projectId: projectId ?? DEFAULT_PROJECT,
      description: input.description,
      state: state ?? 'ACTIVE',
      secret: input.secret,
      ...parts,
      salt: newSalt(),
      createTime: t,
      updateTime: t,
      creator: actor,
      updater: actor,
      etag: newEtag(),
    };
    await this.check(record, own);
    const res = await this.store.insertFlag(record, ruleEnvironments(record.rules));
    if (res === 'exists') throw alreadyExists(flagName(id));
    if (res === 'no_project') throw invalidArgument([{ field: 'flag.project', description: `unknown project ${projectName(record.projectId)}` }]);
    if (res === 'no_environment') throw await this.environmentsVanished(record, own);
    await this.afterChange();
    return record;
  }

  async get(resourceName: string): Promise<FlagRecord> {
    const [id] = parseName(resourceName, ['flags']);
    const record = await this.store.getFlag(id!);
    if (!record) throw notFound(resourceName);
    return record;
  }

  /** Flags of one project (`projects/{id}`) or of every project (`''`), archived ones only when asked. */
  async list(parent: string, showArchived: boolean, pageSize: number, pageToken: string) {
    let projectId: string | undefined;
    if (parent !== '') {
      [projectId] = parseName(parent, ['projects'], 'parent');
      if (!(await this.store.getProject(projectId!))) throw notFound(parent);
    }
    const scope = `flags:${projectId ?? '*'}:${showArchived ? 'all' : 'active'}`;
    const page = pageRequest(pageSize, pageToken, scope);
    const rows = await this.store.listFlags({ projectId, showArchived }, page.after, page.pageSize + 1);
    return pageOf(rows, page, (r) => r.id, scope);
  }

  /**
   * Changes the fields in the mask; the merged flag is validated as a whole. The write is a
   * compare-and-swap on the etag, so the flag it stores is always the one it validated: a
   * concurrent change of another field, or an archive, survives it (src/domain/etag.ts).
   */
  async update(resourceName: string, input: FlagInput, mask: readonly string[], actor: string | null, etag?: string): Promise<FlagRecord> {
    const [id] = parseName(resourceName, ['flags'], 'flag.name');
    const paths = maskPaths(mask, FLAG_UPDATABLE_FIELDS);
    const next = await untilSwapped(resourceName, async () => {
      const current = await this.store.getFlag(id!);
      if (!current) throw notFound(resourceName);
      checkEtag(resourceName, etag, current.etag);
      const next = await this.updated(current, input, paths, actor);
      const res = await this.store.updateFlag(next, paths, current.etag, ruleEnvironments(next.rules));
      if (res === 'no_environment') throw await this.environmentsVanished(next, []);
      return res === 'ok' ? next : CONFLICT;
    });
    await this.afterChange();
    return next;
  }

  /** `current` with the masked fields of `input`, validated. */
  private async updated(current: FlagRecord, input: FlagInput, paths: readonly string[], actor: string | null): Promise<FlagRecord> {
    const own: Sink = [];
    const next: FlagRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
    if (paths.includes('description')) {
      next.description = input.description;
      own.push(...checkText('flag.description', input.description, MAX_DESCRIPTION));
    }
    if (paths.includes('state')) next.state = input.state === 'UNSPECIFIED' ? 'ACTIVE' : (stateOf(input.state, own) ?? current.state);
    if (paths.includes('secret')) next.secret = input.secret;
    if (paths.includes('kind')) {
      next.kind = enumOf<FlagKind>(input.kind, FLAG_KINDS, 'flag.kind', 'kind', own) ?? (input.kind as FlagKind);
    }
    if (paths.includes('variants')) next.variants = variantsOf(input.variants, own);
    if (paths.includes('default_variant')) next.defaultVariant = input.defaultVariant === '' ? null : input.defaultVariant;
    if (paths.includes('rules')) next.rules = rulesOf(input.rules, own);
    await this.check(next, own);
    return next;
  }

  /** Archives a flag: it stays readable and resolves with FLAG_ARCHIVED. Archiving an archived flag changes nothing. */
  async archive(resourceName: string, actor: string | null): Promise<FlagRecord> {
    const next = await untilSwapped(resourceName, async () => {
      const current = await this.get(resourceName);
      if (current.state === 'ARCHIVED') return current;
      const next: FlagRecord = { ...current, state: 'ARCHIVED', updateTime: this.now(), updater: actor, etag: newEtag() };
      return (await this.store.updateFlag(next, ['state'], current.etag, [])) === 'ok' ? next : CONFLICT;
    });
    await this.afterChange();
    return next;
  }

  async delete(resourceName: string, etag?: string): Promise<void> {
    const [id] = parseName(resourceName, ['flags']);
    if (!(await this.store.deleteFlag(id!, this.now(), etag || undefined))) {
      if (!etag) throw notFound(resourceName);
      await this.get(resourceName); // NOT_FOUND when it is gone
      throw etagMismatch(resourceName);
    }
    await this.afterChange();
  }

  /** The project id `flag.project` names (`projects/{project}` or the bare id), reporting a malformed or unknown one. */
  private async projectOf(project: string, out: Sink): Promise<string | undefined> {
    if (project === '') return DEFAULT_PROJECT;
    const id = idOfReference(project, 'projects');
    if (!isValidId(id)) {
      out.push({ field: 'flag.project', description: 'expected projects/{project} (or the project id alone)' });
      return undefined;
    }
    if (!(await this.store.getProject(id))) {
      out.push({ field: 'flag.project', description: `unknown project ${projectName(id)}` });
      return undefined;
    }
    return id;
  }

  /**
   * Refuses the flag with every problem at once: the domain's own (`own`) and the pure module's.
   * Where the domain already reported a field, what the module says about it (or below it) is
   * left out, so each problem is reported once.
   */
  private async check(record: FlagRecord, own: Sink): Promise<void> {
    const environments = new Set(await this.store.environmentIds());
    const violations = [...own];
    for (const v of validateFlagDefinition(toDefinition(record), environments, 'flag')) {
      if (!own.some((o) => covers(o.field, v.field))) violations.push(v);
    }
    if (violations.length > 0) throw invalidArgument(violations);
  }

  /** An environment the rules name was deleted between validation and the write: say which, if it is still gone. */
  private async environmentsVanished(record: FlagRecord, own: Sink): Promise<DomainError> {
    await this.check(record, own);
    return new DomainError('failed_precondition', 'ENVIRONMENT_CHANGED', 'an environment the rules name was deleted while the flag was being saved; retry');
  }
}
