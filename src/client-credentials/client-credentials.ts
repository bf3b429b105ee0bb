import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { checkEtag, CONFLICT, etagMismatch, newEtag, untilSwapped } from '../domain/etag.js';
import { alreadyExists, checkUpdateMask, chooseId, idOfReference, notFound, parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { checkLabels, checkText, MAX_DESCRIPTION, MAX_DISPLAY_NAME } from '../domain/text-limits.js';
import { classifyImportedSecret, digestSecret, issueSecret, secretHint, unleashScopeMatches, validateScopes } from '../credentials/index.js';
import { parseIpRanges, parseOrigins } from '../credentials/allow-lists.js';
import {
  clientName,
  credentialKey,
  credentialName,
  type ClientRecord,
  type CredentialClass,
  type CredentialFormat,
  type CredentialRecord,
  type CredentialStore,
  type RateLimit,
} from './model.js';

/**
 * What the domain needs to know about environments and projects. Flag admin
 * owns them; its in-memory FlagCatalog answers, current on this replica after
 * every local write.
 */
export interface Catalog {
  environmentExists(id: string): boolean;
  isProduction(id: string): boolean;
  projectExists(id: string): boolean;
}

/** What a write changed, named as change_log names it (the credential cache evicts by it). */
export interface CredentialChange {
  entity: 'client' | 'credential';
  /** The client id, or `<client>/<credential>` (credentialKey). */
  entityKey: string;
}

export interface ClientInput {
  displayName: string;
  description: string;
  labels: Record<string, string>;
}

export interface CredentialInput {
  displayName: string;
  class: CredentialClass | undefined;
  format: CredentialFormat | undefined;
  environments: string[];
  projects: string[];
  scopes: string[];
  allowedOrigins: string[];
  allowedIpRanges: string[];
  rateLimit: RateLimit | null;
  expireTime: Date | null;
}

export const CLIENT_UPDATABLE = ['display_name', 'description', 'labels'] as const;
export const CREDENTIAL_UPDATABLE = ['display_name', 'scopes', 'allowed_origins', 'allowed_ip_ranges', 'rate_limit', 'expire_time', 'environments', 'projects'] as const;

/** Rotation keeps the old secret working this long unless the caller says otherwise (SPEC §3). */
export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;
export const MAX_GRACE_MS = 30 * 24 * 3600 * 1000;
const MAX_WINDOW_MS = 24 * 3600 * 1000;
const MAX_LIST = 100;

/** Formats whose secret spells out environment or project, which therefore cannot change later. */
const SCOPE_IN_SECRET: ReadonlySet<CredentialFormat> = new Set(['UNLEASH', 'PUBLISHABLE_KEY', 'SECRET_KEY']);
/** The hint of an imported Unleash token keeps its visible `<project>:<environment>.` part (credentials/hint.ts): its scope is in the secret too. */
const UNLEASH_HINT = /^[^\s:]+:[^\s:.]+\./;

/**
 * Clients and their runtime credentials (SPEC §3): validation of every
 * setting, issuing secrets in the chosen wire format, rotation with a grace
 * period, import of existing secrets, revocation. Secrets leave this class
 * only in the return value of create, rotate and import.
 */
export class ClientCredentials {
  constructor(
    private readonly store: CredentialStore,
    private readonly catalog: Catalog,
    private readonly now: () => Date,
    /** Told of every write, so this replica's credential cache drops what it changed at once. */
    private readonly changed: (change: CredentialChange) => void = () => undefined,
  ) {}

  // ---- clients ----

  async createClient(requestedId: string, input: ClientInput, actor: string | null): Promise<ClientRecord> {
    const id = chooseId(requestedId, 'client_id');
    const violations = checkClient(input);
    if (violations.length > 0) throw invalidArgument(violations);
    const t = this.now();
    const record: ClientRecord = { id, ...input, createTime: t, updateTime: t, creator: actor, updater: actor, etag: newEtag() };
    if (!(await this.store.insertClient(record))) throw alreadyExists(clientName(id));
    this.changed({ entity: 'client', entityKey: record.id });
    return record;
  }

  async getClient(name: string): Promise<ClientRecord> {
    const [id] = parseName(name, ['clients']);
    const record = await this.store.getClient(id!);
    if (!record) throw notFound(name);
    return record;
  }

  async listClients(pageSize: number, pageToken: string) {
    const page = pageRequest(pageSize, pageToken, 'clients');
    return pageOf(await this.store.listClients(page.after, page.pageSize + 1), page, (c) => c.id, 'clients');
  }

  /** Changes the fields in the mask; with `etag` (AIP-154) only while the client is unchanged since it was read. */
  async updateClient(name: string, input: ClientInput, mask: readonly string[], actor: string | null, etag?: string) {
    const paths = checkUpdateMask(mask, CLIENT_UPDATABLE);
    const next = await untilSwapped(name, async () => {
      const current = await this.getClient(name);
      checkEtag(name, etag, current.etag);
      const next: ClientRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
      if (paths.includes('display_name')) next.displayName = input.displayName;
      if (paths.includes('description')) next.description = input.description;
      if (paths.includes('labels')) next.labels = input.labels;
      const violations = checkClient(next);
      if (violations.length > 0) throw invalidArgument(violations);
      return (await this.store.updateClient(next, paths, current.etag)) ? next : CONFLICT;
    });
    this.changed({ entity: 'client', entityKey: next.id });
    return next;
  }

  /** Deleting a client ends all of its credentials. */
  async deleteClient(name: string, etag?: string): Promise<void> {
    const [id] = parseName(name, ['clients']);
    const deleted = await this.store.deleteClient(id!, this.now(), etag || undefined);
    this.changed({ entity: 'client', entityKey: id! });
    if (!deleted) throw etag ? await this.whyNotDeleted(name, () => this.getClient(name)) : notFound(name);
  }

  /** A delete with an etag removed nothing: the resource is gone (NOT_FOUND) or changed (ETAG_MISMATCH). */
  private async whyNotDeleted(name: string, get: () => Promise<unknown>): Promise<DomainError> {
    await get(); // throws NOT_FOUND when it is gone
    return etagMismatch(name);
  }

  // ---- credentials ----

  async createCredential(parent: string, requestedId: string, given: CredentialInput, actor: string | null) {
    const input = withReferenceIds(given);
    const client = await this.getClient(parent);
    const id = chooseId(requestedId, 'credential_id');
    const violations = this.checkCredential(input, 'create');
    if (input.format === 'IMPORTED') {
      violations.push({ field: 'credential.format', description: 'use ImportClientCredential to register an existing secret' });
    }
    if (violations.length > 0) throw invalidArgument(violations);
    const format = input.format!;
    const cls = classOf(input);
    const issued = issueSecret(format, {
      environments: input.environments,
      projects: input.projects,
      live: input.environments.some((e) => this.catalog.isProduction(e)),
    });
    const record = this.newCredential(client.id, id, input, { class: cls, format, publicId: issued.clientId ?? null, secretHint: issued.hint }, actor);
    const outcome = await this.store.insertCredential(record, digestSecret(issued.secret));
    if (outcome === 'id_taken') throw alreadyExists(credentialName(record));
    if (outcome === 'secret_taken') throw new DomainError('unavailable', 'SECRET_COLLISION', 'a freshly issued secret collided with an existing one; retry');
    this.changed({ entity: 'credential', entityKey: credentialKey(record.clientId, record.id) });
    return { credential: record, secret: issued.secret };
  }

  /** Registers a secret the caller already has (migrations from Unleash and others need no redeploy). */
  async importCredential(parent: string, requestedId: string, given: CredentialInput, secret: string, actor: string | null) {
    const input = withReferenceIds(given);
    const client = await this.getClient(parent);
    const id = chooseId(requestedId, 'credential_id');
    const violations = this.checkCredential({ ...input, format: 'IMPORTED' }, 'create');
    if (input.format !== undefined && input.format !== 'IMPORTED') {
      violations.push({ field: 'credential.format', description: 'leave unset or FORMAT_IMPORTED; imported secrets keep their own shape' });
    }
    const shape = classifyImportedSecret(secret);
    if (!shape.ok) violations.push({ field: 'secret', description: shape.reason });
    // An Unleash token names its project and environment; a credential that said otherwise would
    // refuse the token on every request (SPEC §3: the visible part must match the stored scope).
    if (shape.ok && shape.unleash && !unleashScopeMatches(shape.unleash, input)) {
      const { projects, environment } = shape.unleash;
      const wanted = projects === '*' ? '["*"]' : Array.isArray(projects) ? 'two or more project ids' : `["${projects}"]`;
      violations.push({
        field: 'secret',
        description: `this Unleash token is for ${projects === '*' ? 'every project' : Array.isArray(projects) ? 'several projects' : `project ${projects}`} in environment ${environment}: set environments to ["${environment}"] and projects to ${wanted}`,
      });
    }
    if (violations.length > 0) throw invalidArgument(violations);
    const record = this.newCredential(client.id, id, input, { class: input.class!, format: 'IMPORTED', publicId: null, secretHint: secretHint(secret) }, actor);
    const outcome = await this.store.insertCredential(record, digestSecret(secret));
    if (outcome === 'id_taken') throw alreadyExists(credentialName(record));
    if (outcome === 'secret_taken') {
      throw new DomainError('already_exists', 'SECRET_ALREADY_REGISTERED', 'this secret is already registered to a credential', {
        fieldViolations: [{ field: 'secret', description: 'already registered' }],
      });
    }
    this.changed({ entity: 'credential', entityKey: credentialKey(record.clientId, record.id) });
    return { credential: record, secret };
  }

  /** A new ACTIVE credential from validated input; what the secret decides is passed in `fixed`. */
  private newCredential(
    clientId: string,
    id: string,
    input: CredentialInput,
    fixed: Pick<CredentialRecord, 'class' | 'format' | 'publicId' | 'secretHint'>,
    actor: string | null,
  ): CredentialRecord {
    const t = this.now();
    return {
      clientId,
      id,
      displayName: input.displayName,
      ...fixed,
      environments: unique(input.environments),
      projects: unique(input.projects),
      scopes: unique(input.scopes),
      allowedOrigins: unique(input.allowedOrigins),
      allowedIpRanges: unique(input.allowedIpRanges),
      rateLimit: input.rateLimit,
      expireTime: input.expireTime,
      state: 'ACTIVE',
      revokeTime: null,
      lastUseTime: null,
      previousSecretExpireTime: null,
      createTime: t,
      updateTime: t,
      creator: actor,
      updater: actor,
      etag: newEtag(),
    };
  }

  async getCredential(name: string): Promise<CredentialRecord> {
    const [clientId, id] = parseName(name, ['clients', 'credentials']);
    const record = await this.store.getCredential(clientId!, id!);
    if (!record) throw notFound(name);
    return this.withLiveSecrets(record);
  }

  /** A previous secret whose grace period has ended no longer works: not reported as one that does. */
  private withLiveSecrets(record: CredentialRecord): CredentialRecord {
    const ends = record.previousSecretExpireTime;
    return ends !== null && ends.getTime() <= this.now().getTime() ? { ...record, previousSecretExpireTime: null } : record;
  }

  /** `clients/{client}` or `clients/-` for every client's credentials. */
  async listCredentials(parent: string, pageSize: number, pageToken: string) {
    const clientId = parent === 'clients/-' ? undefined : parseName(parent, ['clients'], 'parent')[0];
    if (clientId !== undefined) await this.getClient(parent);
    const scope = `credentials:${parent}`;
    const page = pageRequest(pageSize, pageToken, scope);
    const rows = (await this.store.listCredentials(clientId, page.after, page.pageSize + 1)).map((r) => this.withLiveSecrets(r));
    return pageOf(rows, page, (c) => JSON.stringify([c.clientId, c.id]), scope);
  }

  /**
   * Changes the fields in the mask. The write is a compare-and-swap on the etag, so it can never
   * land on a state it did not see: a concurrent revoke, or a concurrent change of another field,
   * survives it (src/domain/etag.ts).
   */
  async updateCredential(name: string, given: CredentialInput, mask: readonly string[], actor: string | null, etag?: string) {
    const input = withReferenceIds(given);
    const paths = checkUpdateMask(mask, CREDENTIAL_UPDATABLE);
    const next = await untilSwapped(name, async () => {
      const current = await this.getCredential(name);
      checkEtag(name, etag, current.etag);
      const next = this.updatedCredential(name, current, input, paths, actor);
      return (await this.store.updateCredential(next, paths, current.etag)) ? next : CONFLICT;
    });
    this.changed({ entity: 'credential', entityKey: credentialKey(next.clientId, next.id) });
    return next;
  }

  private updatedCredential(name: string, current: CredentialRecord, input: CredentialInput, paths: readonly string[], actor: string | null): CredentialRecord {
    if (current.state === 'REVOKED') {
      throw new DomainError('failed_precondition', 'CREDENTIAL_REVOKED', `${name} is revoked and cannot be changed or un-revoked; create a new credential`);
    }
    const scopeInSecret = SCOPE_IN_SECRET.has(current.format) || (current.format === 'IMPORTED' && UNLEASH_HINT.test(current.secretHint));
    if (scopeInSecret && (paths.includes('environments') || paths.includes('projects'))) {
      throw new DomainError(
        'failed_precondition',
        'SCOPE_IN_SECRET',
        `the environments and projects of a ${current.format} credential are written into its secret and cannot change; create a new credential`,
      );
    }
    const next: CredentialRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
    if (paths.includes('display_name')) next.displayName = input.displayName;
    if (paths.includes('scopes')) next.scopes = unique(input.scopes);
    if (paths.includes('allowed_origins')) next.allowedOrigins = unique(input.allowedOrigins);
    if (paths.includes('allowed_ip_ranges')) next.allowedIpRanges = unique(input.allowedIpRanges);
    if (paths.includes('rate_limit')) next.rateLimit = input.rateLimit;
    if (paths.includes('expire_time')) next.expireTime = input.expireTime;
    if (paths.includes('environments')) next.environments = unique(input.environments);
    if (paths.includes('projects')) next.projects = unique(input.projects);
    const violations = this.checkCredential({ ...next, class: next.class, format: next.format }, 'update');
    if (violations.length > 0) throw invalidArgument(violations);
    return next;
  }

  /** Takes effect on the next request; revoking twice is harmless. */
  async revokeCredential(name: string, actor: string | null): Promise<CredentialRecord> {
    const next = await untilSwapped(name, async () => {
      const current = await this.getCredential(name);
      if (current.state === 'REVOKED') return current;
      const t = this.now();
      const next: CredentialRecord = { ...current, state: 'REVOKED', revokeTime: t, updateTime: t, updater: actor, etag: newEtag() };
      return (await this.store.updateCredential(next, ['state', 'revoke_time'], current.etag)) ? next : CONFLICT;
    });
    this.changed({ entity: 'credential', entityKey: credentialKey(next.clientId, next.id) });
    return next;
  }

  /** A new secret with the same settings; the old one keeps working for `graceMs`, then expires. */
  async rotateCredential(name: string, graceMs: number | undefined, actor: string | null) {
    const grace = graceMs ?? DEFAULT_GRACE_MS;
    if (!Number.isFinite(grace) || grace < 0 || grace > MAX_GRACE_MS) {
      throw invalidArgument([{ field: 'grace_period', description: 'must be between 0 and 30 days' }]);
    }
    const rotated = await untilSwapped(name, async () => {
      const current = await this.getCredential(name);
      const issued = this.rotatedSecret(name, current);
      const t = this.now();
      const oldSecretEnds = new Date(t.getTime() + grace);
      const next: CredentialRecord = { ...current, secretHint: issued.hint, previousSecretExpireTime: oldSecretEnds, updateTime: t, updater: actor, etag: newEtag() };
      const swapped = await this.store.rotateSecret(next, digestSecret(issued.secret), oldSecretEnds, current.etag);
      return swapped ? { credential: next, secret: issued.secret } : CONFLICT;
    });
    this.changed({ entity: 'credential', entityKey: credentialKey(rotated.credential.clientId, rotated.credential.id) });
    return rotated;
  }

  /** A new secret for `current`, in its format; revoked and imported credentials cannot be rotated. */
  private rotatedSecret(name: string, current: CredentialRecord) {
    if (current.state === 'REVOKED') {
      throw new DomainError('failed_precondition', 'CREDENTIAL_REVOKED', `${name} is revoked; a revoked credential cannot be rotated`);
    }
    if (current.format === 'IMPORTED') {
      throw new DomainError(
        'failed_precondition',
        'IMPORTED_NOT_ROTATABLE',
        `${name} holds an imported secret, which latchkey cannot reissue; import the new secret or create a credential in a latchkey format`,
      );
    }
    return issueSecret(current.format, {
      environments: current.environments,
      projects: current.projects,
      live: current.environments.some((e) => this.catalog.isProduction(e)),
      clientId: current.publicId ?? undefined,
    });
  }

  async deleteCredential(name: string, etag?: string): Promise<void> {
    const [clientId, id] = parseName(name, ['clients', 'credentials']);
    const deleted = await this.store.deleteCredential(clientId!, id!, this.now(), etag || undefined);
    this.changed({ entity: 'credential', entityKey: credentialKey(clientId!, id!) });
    if (!deleted) throw etag ? await this.whyNotDeleted(name, () => this.getCredential(name)) : notFound(name);
  }

  private checkCredential(input: CredentialInput, mode: 'create' | 'update'): FieldViolation[] {
    const v: FieldViolation[] = [];
    const f = (field: string, description: string) => v.push({ field: `credential.${field}`, description });
    v.push(...checkText('credential.display_name', input.displayName, MAX_DISPLAY_NAME));
    if (mode === 'create') {
      if (input.format === undefined) f('format', 'required: FORMAT_KEY_PAIR, FORMAT_CLIENT_SECRET, FORMAT_UNLEASH, FORMAT_PUBLISHABLE_KEY or FORMAT_SECRET_KEY');
      const implied = input.format === 'PUBLISHABLE_KEY' ? 'PUBLISHABLE' : input.format === 'SECRET_KEY' ? 'SECRET' : undefined;
      if (input.class === undefined && implied === undefined) f('class', 'required: CLASS_PUBLISHABLE or CLASS_SECRET');
      if (implied !== undefined && input.class !== undefined && input.class !== implied) {
        f('class', `a ${input.format} credential is ${implied === 'PUBLISHABLE' ? 'CLASS_PUBLISHABLE' : 'CLASS_SECRET'} (the class follows the prefix)`);
      }
    }
    const cls = classOf(input);
    if (input.environments.length > MAX_LIST) f('environments', `at most ${MAX_LIST}`);
    input.environments.forEach((e, i) => {
      if (!this.catalog.environmentExists(e)) f(`environments[${i}]`, `unknown environment ${JSON.stringify(e)}`);
    });
    if (input.format !== undefined && SCOPE_IN_SECRET.has(input.format) && input.environments.length !== 1) {
      f('environments', `a ${input.format} credential needs exactly one environment (it is part of the secret)`);
    }
    if (input.projects.length === 0) f('projects', 'required: project ids, or ["*"] for every project, present and future');
    if (input.projects.length > MAX_LIST) f('projects', `at most ${MAX_LIST}`);
    if (input.projects.includes('*') && input.projects.length > 1) f('projects', '"*" stands alone');
    input.projects.forEach((p, i) => {
      if (p !== '*' && !this.catalog.projectExists(p)) f(`projects[${i}]`, `unknown project ${JSON.stringify(p)}`);
    });
    for (const sv of validateScopes(input.scopes, cls)) f(sv.index === undefined ? 'scopes' : `scopes[${sv.index}]`, sv.description);
    const origins = parseOrigins(input.allowedOrigins);
    if (!origins.ok) for (const o of origins.violations) f(`allowed_origins[${o.index}]`, o.description);
    const ranges = parseIpRanges(input.allowedIpRanges);
    if (!ranges.ok) for (const r of ranges.violations) f(`allowed_ip_ranges[${r.index}]`, r.description);
    if (input.allowedOrigins.length > MAX_LIST) f('allowed_origins', `at most ${MAX_LIST}`);
    if (input.allowedIpRanges.length > MAX_LIST) f('allowed_ip_ranges', `at most ${MAX_LIST}`);
    if (input.rateLimit) {
      if (!Number.isInteger(input.rateLimit.requests) || input.rateLimit.requests < 1) f('rate_limit.requests', 'must be at least 1');
      if (!(input.rateLimit.windowMs >= 1000 && input.rateLimit.windowMs <= MAX_WINDOW_MS)) f('rate_limit.window', 'must be between 1 second and 1 day');
    }
    if (mode === 'create' && input.expireTime && input.expireTime.getTime() <= this.now().getTime()) f('expire_time', 'must be in the future');
    return v;
  }
}

function classOf(input: Pick<CredentialInput, 'class' | 'format'>): CredentialClass {
  if (input.format === 'PUBLISHABLE_KEY') return 'PUBLISHABLE';
  if (input.format === 'SECRET_KEY') return 'SECRET';
  return input.class ?? 'SECRET';
}

function checkClient(input: ClientInput): FieldViolation[] {
  return [
    ...checkText('client.display_name', input.displayName, MAX_DISPLAY_NAME),
    ...checkText('client.description', input.description, MAX_DESCRIPTION),
    ...checkLabels('client.labels', input.labels),
  ];
}

/** Environments and projects as ids, whichever spelling the caller used (`production` or `environments/production`). */
function withReferenceIds(input: CredentialInput): CredentialInput {
  return {
    ...input,
    environments: input.environments.map((e) => idOfReference(e, 'environments')),
    projects: input.projects.map((p) => idOfReference(p, 'projects')),
  };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
