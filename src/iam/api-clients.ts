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
    const id = chooseId(requestedId, 'api_client_id');
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
    if (!(await this.store.insert(record))) throw alreadyExists(name(id));
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
      return (await this.store.update(next, paths, current.etag)) ? next : CONFLICT;
    });
  }

  async delete(resourceName: string, etag?: string): Promise<void> {
    const [id] = parseName(resourceName, ['apiClients']);
    if (!(await this.store.delete(id!, etag || undefined))) {
      if (!etag) throw notFound(resourceName);
      await this.get(resourceName); // NOT_FOUND when it is gone
      throw etagMismatch(resourceName);
    }
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
