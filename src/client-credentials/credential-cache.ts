import type { IpRanges, OriginPatterns } from '../credentials/allow-lists.js';
import { parseIpRanges, parseOrigins } from '../credentials/allow-lists.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { clientName, credentialKey, credentialName, type CredentialRecord, type CredentialStore, type SecretRecord } from './model.js';

/** A credential ready for the request path: names built and allow-lists parsed once, not per request. */
export interface CachedCredential {
  credential: CredentialRecord;
  secret: SecretRecord;
  /** `clients/{client}/credentials/{id}` and `clients/{client}`. */
  name: string;
  client: string;
  ipRanges: IpRanges;
  origins: OriginPatterns;
}

const NEGATIVE_MAX = 10_000;

/**
 * Credentials by secret digest, in memory, so the request path makes no database query for a
 * known (or recently unknown) secret.
 *
 * A change to a credential evicts that credential, and a change to a client evicts its
 * credentials: at once on the replica that made it (`evict()`), and within `pollMs` on the others,
 * which follow change_log with a ChangeFeed (late commits included: a revocation whose commit was
 * overtaken by another write is still seen). Any credential change also forgets the digests known
 * to be unknown, since a created or imported credential may own one of them. A lookup that raced
 * with an eviction is not cached, so a stale answer can never outlive the change.
 */
export class CredentialCache {
  private positive = new Map<string, CachedCredential>();
  /** Digests of each cached credential, by `<client>/<credential>`, for eviction. */
  private digestsOf = new Map<string, Set<string>>();
  /** Digests known to match nothing; bounded, oldest forgotten first. */
  private negative = new Set<string>();
  private generation = 0;
  private feed: ChangeFeed | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: CredentialStore) {}

  /**
   * The credential of a digest: from memory when it is cached (known or known to be unknown),
   * else from the store. A cached answer comes back without a promise, so the request path
   * skips a microtask hop for the common case.
   */
  lookup(digest: string): CachedCredential | undefined | Promise<CachedCredential | undefined> {
    const hit = this.positive.get(digest);
    if (hit) return hit;
    if (this.negative.has(digest)) return undefined;
    return this.load(digest);
  }

  private async load(digest: string): Promise<CachedCredential | undefined> {
    const generation = this.generation;
    const found = await this.store.findBySecretDigest(digest);
    const entry = found && compile(found.credential, found.secret);
    if (generation === this.generation) {
      if (entry) {
        this.positive.set(digest, entry);
        const key = credentialKey(entry.credential.clientId, entry.credential.id);
        let digests = this.digestsOf.get(key);
        if (!digests) this.digestsOf.set(key, (digests = new Set()));
        digests.add(digest);
      } else {
        if (this.negative.size >= NEGATIVE_MAX) this.negative.delete(this.negative.values().next().value as string);
        this.negative.add(digest);
      }
    }
    return entry;
  }

  /** Drops what the changes name: credentials by `<client>/<credential>`, clients by id. */
  evict(changes: readonly { entity: string; entityKey: string }[]): void {
    let changed = false;
    for (const { entity, entityKey } of changes) {
      if (entity === 'credential') {
        this.evictCredential(entityKey);
        changed = true;
      } else if (entity === 'client') {
        const prefix = `${entityKey}/`;
        for (const key of [...this.digestsOf.keys()]) if (key.startsWith(prefix)) this.evictCredential(key);
        changed = true;
      }
    }
    if (!changed) return;
    this.generation++;
    this.negative = new Set();
  }

  private evictCredential(key: string): void {
    for (const digest of this.digestsOf.get(key) ?? []) this.positive.delete(digest);
    this.digestsOf.delete(key);
  }

  /** Starts following other replicas' changes, from the newest change_log row. */
  async start(pollMs: number, onError: (err: unknown) => void): Promise<void> {
    const feed = new ChangeFeed(this.store);
    await feed.startAt(await this.store.latestChange());
    this.feed = feed;
    let polling = false;
    this.timer = setInterval(() => {
      if (polling) return; // a slow store: never two reads of the feed at once
      polling = true;
      feed
        .next()
        .then((rows) => this.evict(rows), onError)
        .finally(() => {
          polling = false;
        });
    }, pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function compile(credential: CredentialRecord, secret: SecretRecord): CachedCredential {
  const ranges = parseIpRanges(credential.allowedIpRanges);
  const origins = parseOrigins(credential.allowedOrigins);
  // Stored lists were validated on write; should one ever fail to parse, refuse everything rather than allow everything.
  return {
    credential,
    secret,
    name: credentialName(credential),
    client: clientName(credential.clientId),
    ipRanges: ranges.ok ? ranges.ranges : DENY_ALL_RANGES,
    origins: origins.ok ? origins.patterns : DENY_ALL_ORIGINS,
  };
}

const DENY_ALL_RANGES = (() => {
  const r = parseIpRanges(['255.255.255.255/32']);
  return r.ok ? r.ranges : ([] as unknown as IpRanges);
})();
const DENY_ALL_ORIGINS = (() => {
  const o = parseOrigins(['https://deny.invalid']);
  return o.ok ? o.patterns : ([] as unknown as OriginPatterns);
})();
