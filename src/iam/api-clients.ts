import { constantTimeEqualHex, digestSecret } from '../credentials/digest.js';
import { randomBase62 } from '../credentials/random.js';
import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { checkEtag, CONFLICT, etagMismatch, newEtag, untilSwapped } from '../domain/etag.js';
import { alreadyExists, checkUpdateMask, chooseId, notFound, parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { checkLabels, checkText, MAX_DESCRIPTION, MAX_DISPLAY_NAME } from '../domain/text-limits.js';
import { ALL_PERMISSIONS } from '../auth/method-policy.js';
import { effectivePermissions, roleByName } from '../auth/roles.js';
import type { ApiClientPrincipal } from '../auth/principal.js';
import type { ApiClientRecord, ApiClientStore } from './model.js';

/** Access tokens live one hour (SPEC §5). */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
/** Prefixes make leaked values recognisable to secret scanners. */
export const API_CLIENT_ID_PREFIX = 'lkc_';
export const API_CLIENT_SECRET_PREFIX = 'lks_';
export const ACCESS_TOKEN_PREFIX = 'lkat_';

export interface ApiClientInput {
  displayName: string;
  description: string;
  labels: Record<string, string>;
  roles: string[];
  permissions: string[];
}

export const UPDATABLE_FIELDS = ['display_name', 'description', 'labels', 'roles', 'permissions'] as const;

const name = (id: string) => `apiClients/${id}`;

/** The role that must stay held by at least one API client, or nobody can manage latchkey. */
export const ADMIN_ROLE = 'roles/admin';

const isAdmin = (r: { roles: readonly string[] }) => r.roles.includes(ADMIN_ROLE);

function lastAdmin(resourceName: string, change: 'delete' | 'update'): DomainError {
  const what = change === 'delete' ? 'deleting it' : `taking ${ADMIN_ROLE} away from it`;
  return new DomainError(
    'failed_precondition',
    'LAST_ADMIN',
    `${resourceName} is the last API client with ${ADMIN_ROLE}; ${what} would leave nobody able to manage latchkey. Grant ${ADMIN_ROLE} to another API client first`,
    { metadata: { resource: resourceName } },
  );
}

function validate(input: ApiClientInput, prefix: string): FieldViolation[] {
  return [
    ...checkText(`${prefix}.display_name`, input.displayName, MAX_DISPLAY_NAME),
    ...checkText(`${prefix}.description`, input.description, MAX_DESCRIPTION),
    ...checkLabels(`${prefix}.labels`, input.labels),
    ...input.roles.flatMap((r, i) =>
      roleByName(r) ? [] : [{ field: `${prefix}.roles[${i}]`, description: `unknown role ${JSON.stringify(r)}; built-in roles are listed by ListRoles` }],
    ),
    ...input.permissions.flatMap((p, i) =>
      ALL_PERMISSIONS.includes(p) ? [] : [{ field: `${prefix}.permissions[${i}]`, description: `unknown permission ${JSON.stringify(p)}` }],
    ),
  ];
}

function clientIdTaken(clientId: string): DomainError {
  return new DomainError('already_exists', 'CLIENT_ID_TAKEN', `another API client already has the client id ${JSON.stringify(clientId)}`, {
    metadata: { clientId },
  });
}

function invalidClient(): DomainError {
  // One message for unknown client and wrong secret, so the answer does not reveal which client ids exist.
  return new DomainError('unauthenticated', 'INVALID_CLIENT', 'client authentication failed: unknown client_id or wrong client_secret');
}

/**
 * Machine users of the management API (SPEC §5): CRUD, secret rotation,
 * client authentication and the OAuth2 client-credentials exchange.
 */
export class ApiClients {
  constructor(
    private readonly store: ApiClientStore,
    private readonly now: () => Date,
  ) {}

  async create(requestedId: string, input: ApiClientInput, actor: string | null, seeded?: { clientId: string; secret: string }) {
    const { record, secret } = this.newClient(chooseId(requestedId, 'api_client_id'), input, actor, seeded);
    if (!(await this.store.insert(record))) throw alreadyExists(name(record.id));
    return { record, secret };
  }

  private newClient(id: string, input: ApiClientInput, actor: string | null, seeded?: { clientId: string; secret: string }) {
    const violations = validate(input, 'api_client');
    if (violations.length > 0) throw invalidArgument(violations);
    const secret = seeded?.secret ?? API_CLIENT_SECRET_PREFIX + randomBase62(40);
    const t = this.now();
    const record: ApiClientRecord = {
      id,
      clientId: seeded?.clientId ?? API_CLIENT_ID_PREFIX + randomBase62(24),
      secretDigest: digestSecret(secret),
      ...input,
      roles: [...new Set(input.roles)],
      permissions: [...new Set(input.permissions)],
      createTime: t,
      updateTime: t,
      creator: actor,
      updater: actor,
      etag: newEtag(),
      secretGeneration: 1,
    };
    return { record, secret };
  }

  async get(resourceName: string): Promise<ApiClientRecord> {
    const [id] = parseName(resourceName, ['apiClients']);
    const record = await this.store.get(id!);
    if (!record) throw notFound(resourceName);
    return record;
  }

  async list(pageSize: number, pageToken: string) {
    const page = pageRequest(pageSize, pageToken, 'apiClients');
    const rows = await this.store.list(page.after, page.pageSize + 1);
    return pageOf(rows, page, (r) => r.id, 'apiClients');
  }

  /**
   * Changes the fields in the mask. A compare-and-swap on the etag, so a concurrent change of
   * another field (a role change above all) is never written over (src/domain/etag.ts).
   */
  async update(resourceName: string, input: ApiClientInput, maskPaths: readonly string[], actor: string | null, etag?: string) {
    const paths = checkUpdateMask(maskPaths, UPDATABLE_FIELDS);
    return untilSwapped(resourceName, async () => {
      const current = await this.get(resourceName);
      checkEtag(resourceName, etag, current.etag);
      const next: ApiClientRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
      if (paths.includes('display_name')) next.displayName = input.displayName;
      if (paths.includes('description')) next.description = input.description;
      if (paths.includes('labels')) next.labels = input.labels;
      if (paths.includes('roles')) next.roles = [...new Set(input.roles)];
      if (paths.includes('permissions')) next.permissions = [...new Set(input.permissions)];
      const violations = validate(next, 'api_client');
      if (violations.length > 0) throw invalidArgument(violations);
      if (isAdmin(current) && !isAdmin(next)) {
        // Under the admin lock: two such changes (or one and a delete) on two replicas cannot both
        // see the other's client as the admin that remains. The swap still guards the row itself.
        return this.store.withAdminLock(async (locked) => {
          if ((await locked.countHolders(ADMIN_ROLE, current.id)) === 0) throw lastAdmin(resourceName, 'update');
          return (await locked.update(next, paths, current.etag)) ? next : CONFLICT;
        });
      }
      return (await this.store.update(next, paths, current.etag)) ? next : CONFLICT;
    });
  }

  /** Refused with LAST_ADMIN when the client is the only one holding roles/admin. */
  async delete(resourceName: string, etag?: string): Promise<void> {
    const [id] = parseName(resourceName, ['apiClients']);
    await this.store.withAdminLock(async (locked) => {
      // Every delete takes the lock, as whether the client is an admin is only known once it is
      // read under it; role grants that land meanwhile make the count larger, never smaller.
      const current = await locked.get(id!);
      if (!current) throw notFound(resourceName);
      checkEtag(resourceName, etag, current.etag);
      if (isAdmin(current) && (await locked.countHolders(ADMIN_ROLE, current.id)) === 0) throw lastAdmin(resourceName, 'delete');
      if (!(await locked.delete(id!, etag || undefined))) {
        // Only a write that took no lock (a description, a secret rotation) can come in between.
        if (!etag) throw notFound(resourceName);
        if (!(await locked.get(id!))) throw notFound(resourceName); // never this.store inside the transaction: SQLite has one connection
        throw etagMismatch(resourceName);
      }
    });
  }

  /**
   * First start (SPEC §5): creates the admin `id` only when there is no API client at all, and
   * runs `beforeCommit` (which shows the secret) before the insert commits, so no admin is ever
   * stored whose secret was not shown. Undefined when the database already had an API client.
   */
  async createFirst(
    id: string,
    input: ApiClientInput,
    seeded: { clientId: string; secret: string } | undefined,
    beforeCommit: (created: { record: ApiClientRecord; secret: string }) => Promise<void>,
  ) {
    const created = this.newClient(id, input, null, seeded);
    return (await this.store.insertFirst(created.record, () => beforeCommit(created))) ? created : undefined;
  }

  /**
   * Operator recovery (`latchkey admin reset-bootstrap`): gives `id` roles/admin and a new secret
   * (and the seeded client id and secret when given), creating it when it is missing. Ends every
   * access token it held. A compare-and-swap like every other write.
   */
  async resetAdmin(id: string, input: ApiClientInput, seeded?: { clientId: string; secret: string }) {
    const resourceName = name(id);
    return untilSwapped(resourceName, async () => {
      const current = await this.store.get(id);
      if (!current) {
        const created = this.newClient(id, { ...input, roles: [ADMIN_ROLE], permissions: [] }, null, seeded);
        if (await this.store.insert(created.record)) return { ...created, created: true };
        if (await this.store.get(id)) return CONFLICT; // created meanwhile: re-key that one
        throw clientIdTaken(created.record.clientId);
      }
      const secret = seeded?.secret ?? API_CLIENT_SECRET_PREFIX + randomBase62(40);
      const record: ApiClientRecord = {
        ...current,
        clientId: seeded?.clientId ?? current.clientId,
        secretDigest: digestSecret(secret),
        roles: [ADMIN_ROLE],
        permissions: [],
        updateTime: this.now(),
        updater: null,
        etag: newEtag(),
        secretGeneration: current.secretGeneration + 1,
      };
      const result = await this.store.rekey(record, current.etag);
      if (result === 'conflict') return CONFLICT;
      if (result === 'client-id-taken') throw clientIdTaken(record.clientId);
      return { record, secret, created: false };
    });
  }

  /** A new secret; the old one and every access token issued with it stop working at once. */
  async rotateSecret(resourceName: string, actor: string | null) {
    const [id] = parseName(resourceName, ['apiClients']);
    const secret = API_CLIENT_SECRET_PREFIX + randomBase62(40);
    const record = await this.store.replaceSecret(id!, digestSecret(secret), this.now(), actor, newEtag());
    if (!record) throw notFound(resourceName);
    return { record, secret };
  }

  /** Client authentication with client id and secret (Basic auth and the token exchange). */
  async authenticateClient(clientId: string, secret: string): Promise<ApiClientRecord> {
    const record = clientId === '' ? undefined : await this.store.getByClientId(clientId);
    // Compare against a digest even for an unknown client, so timing does not reveal which ids exist.
    const ok = constantTimeEqualHex(digestSecret(secret), record?.secretDigest ?? digestSecret(`\u0000${clientId}`));
    if (!record || !ok) throw invalidClient();
    return record;
  }

  /** OAuth2 client-credentials grant (RFC 6749 §4.4). */
  async exchange(grantType: string, clientId: string, secret: string) {
    if (grantType !== 'client_credentials') {
      throw new DomainError('invalid_argument', 'UNSUPPORTED_GRANT_TYPE', `grant_type ${JSON.stringify(grantType)} is not supported; use client_credentials`, {
        fieldViolations: [{ field: 'grant_type', description: 'must be client_credentials' }],
      });
    }
    const missing = [
      ...(clientId === '' ? [{ field: 'client_id', description: 'required' }] : []),
      ...(secret === '' ? [{ field: 'client_secret', description: 'required' }] : []),
    ];
    if (missing.length > 0) {
      throw new DomainError('invalid_argument', 'INVALID_REQUEST', `missing ${missing.map((m) => m.field).join(' and ')}`, { fieldViolations: missing });
    }
    const client = await this.authenticateClient(clientId, secret);
    const token = ACCESS_TOKEN_PREFIX + randomBase62(43);
    const t = this.now();
    const stored = await this.store.insertToken(
      { digest: digestSecret(token), apiClientId: client.id, expireTime: new Date(t.getTime() + ACCESS_TOKEN_LIFETIME_SECONDS * 1000) },
      client.secretDigest,
      t,
    );
    // The client was deleted, or its secret rotated, while this exchange ran: the secret it
    // presented no longer authenticates anyone.
    if (!stored) throw invalidClient();
    return { accessToken: token, tokenType: 'Bearer', expiresIn: ACCESS_TOKEN_LIFETIME_SECONDS };
  }

  /** The API client behind an access token; ended tokens are refused. */
  async authenticateToken(token: string): Promise<ApiClientRecord> {
    const found = await this.store.findToken(digestSecret(token));
    if (!found) {
      throw new DomainError('unauthenticated', 'ACCESS_TOKEN_INVALID', 'the access token is not valid (unknown, or ended by deleting the API client or rotating its secret); request a new one');
    }
    if (found.token.expireTime.getTime() <= this.now().getTime()) {
      throw new DomainError('unauthenticated', 'ACCESS_TOKEN_EXPIRED', 'the access token has expired; request a new one with RequestAccessToken');
    }
    return found.client;
  }

  principalOf(record: ApiClientRecord): ApiClientPrincipal {
    return { kind: 'apiClient', name: name(record.id), permissions: effectivePermissions(record.roles, record.permissions) };
  }

  countClients(): Promise<number> {
    return this.store.count();
  }

  pruneExpiredTokens(): Promise<number> {
    return this.store.deleteExpiredTokens(this.now());
  }
}
