/**
 * Clients and credentials as the store holds them, for tests that talk to a real store directly
 * (no management service in between).
 */
import { createHash } from 'node:crypto';
import type { ClientRecord, CredentialRecord } from '../../src/client-credentials/model.js';

const T0 = new Date('2026-11-23T09:00:00.000Z');

export const digestOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function clientRecord(id: string): ClientRecord {
  return { id, displayName: id, description: '', labels: {}, createTime: T0, updateTime: T0, creator: null, updater: null, etag: `e-${id}` };
}

export function credentialRecord(clientId: string, id: string, extra: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    clientId,
    id,
    displayName: `credential ${id}`,
    class: 'SECRET',
    format: 'CLIENT_SECRET',
    publicId: null,
    environments: ['production'],
    projects: ['*'],
    scopes: ['flags:read'],
    allowedOrigins: [],
    allowedIpRanges: [],
    rateLimit: null,
    expireTime: null,
    state: 'ACTIVE',
    revokeTime: null,
    lastUseTime: null,
    secretHint: 'abcd…wxyz',
    previousSecretExpireTime: null,
    createTime: T0,
    updateTime: T0,
    creator: 'apiClients/admin',
    updater: null,
    etag: `e-${clientId}-${id}`,
    ...extra,
  };
}
