import { LRUCache } from 'lru-cache';
import type { IpRanges, OriginPatterns } from '../credentials/allow-lists.js';
import { parseIpRanges, parseOrigins } from '../credentials/allow-lists.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { clientName, credentialName, type CredentialRecord, type CredentialStore, type SecretRecord } from './model.js';

/**
 * What the request path reads of a credential. Only these fields are kept: the rest of the
 * record (display name, hint, etag, audit times) would double the memory of a cache sized for
 * millions of credentials.
 */
export type RuntimeCredential = Pick<
  CredentialRecord,
  'clientId' | 'id' | 'class' | 'format' | 'publicId' | 'environments' | 'projects' | 'scopes' | 'allowedOrigins' | 'allowedIpRanges' | 'rateLimit' | 'expireTime' | 'state' | 'revokeTime'
>;

/** A credential ready for the request path: names built and allow-lists parsed once, not per request. */
export interface CachedCredential {
  credential: RuntimeCredential;
  secret: SecretRecord;
  /** `clients/{client}/credentials/{id}` and `clients/{client}`. */
  name: string;
  client: string;
  ipRanges: IpRanges;
  origins: OriginPatterns;
}

/** Entries by default (LATCHKEY_CREDENTIAL_CACHE_SIZE); see the README for the memory this takes. */
export const DEFAULT_CREDENTIAL_CACHE_SIZE = 1_000_000;
/** Digests known to match nothing, at most; a guesser is throttled long before it fills this. */
const NEGATIVE_MAX = 10_000;

/**
 * Credentials by secret digest, in memory, so the request path makes no database query for a
 * known (or recently unknown) secret. At most `maxEntries` are held, the least recently used
 * forgotten first; a forgotten one is looked up again (one prepared statement) when it returns.
 *
 * A change to a credential evicts that credential, and a change to a client evicts its
 * credentials: at once on the replica that made it (`evict()`), and within `pollMs` on the others,
 * which follow change_log with a ChangeFeed (late commits included: a revocation whose commit was
 * overtaken by another write is still seen). Any credential change also forgets the digests known
 * to be unknown, since a created or imported credential may own one of them. A lookup that raced
 * with an eviction is not cached, so a stale answer can never outlive the change.
 */
export class CredentialCache {
  private readonly positive: LRUCache<string, CachedCredential>;
  /**
   * The cached digests of each credential (two during a rotation's grace period), by client id
   * and then credential id, for eviction: a credential change finds its digests, a client change
   * its credentials, without a scan. Kept equal to `positive` by its dispose callback, which runs
   * for every entry that leaves it, LRU evictions included.
   */
  private readonly digestsOf = new Map<string, Map<string, string[]>>();
  /** Digests known to match nothing; bounded, least recently used forgotten first. */
  private readonly negative = new LRUCache<string, true>({ max: NEGATIVE_MAX });
  private generation = 0;
  private feed: ChangeFeed | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: CredentialStore,
    maxEntries: number = DEFAULT_CREDENTIAL_CACHE_SIZE,
  ) {
    this.positive = new LRUCache<string, CachedCredential>({
      max: maxEntries,
      dispose: (entry, digest) => this.unindex(entry, digest),
    });
  }

  /** How many credentials (digests) are cached now. */
  get size(): number {
    return this.positive.size;
  }

  /** Cached entries, and digests in the eviction index (always the same number: see `digestsOf`). */
  stats(): { entries: number; indexedDigests: number } {
    let indexedDigests = 0;
    for (const credentials of this.digestsOf.values()) for (const digests of credentials.values()) indexedDigests += digests.length;
    return { entries: this.positive.size, indexedDigests };
  }

  /** Whether a digest is cached, without touching its recency. */
  has(digest: string): boolean {
    return this.positive.has(digest);
  }

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
    // The digest string the cache is keyed by serves as the secret's too: one copy per entry.
    const entry = found && compile(found.credential, { digest, expireTime: found.secret.expireTime });
    if (generation === this.generation) {
      if (entry) {
        // A concurrent miss of the same digest may have cached it first: replace it through
        // delete, whose dispose unindexes the old entry before the new one is indexed.
        this.positive.delete(digest);
        this.positive.set(digest, entry);
        this.index(entry, digest);
      } else {
        this.negative.set(digest, true);
      }
    }
    return entry;
  }

  private index(entry: CachedCredential, digest: string): void {
    const { clientId, id } = entry.credential;
    let credentials = this.digestsOf.get(clientId);
    if (!credentials) this.digestsOf.set(clientId, (credentials = new Map()));
    const digests = credentials.get(id);
    if (!digests) credentials.set(id, [digest]);
    else if (!digests.includes(digest)) digests.push(digest);
  }

  private unindex(entry: CachedCredential, digest: string): void {
    const { clientId, id } = entry.credential;
    const credentials = this.digestsOf.get(clientId);
    const digests = credentials?.get(id);
    const at = digests?.indexOf(digest) ?? -1;
    if (!credentials || !digests || at < 0) return;
    digests.splice(at, 1);
    if (digests.length > 0) return;
    credentials.delete(id);
    if (credentials.size === 0) this.digestsOf.delete(clientId);
  }

  /** Drops what the changes name: credentials by `<client>/<credential>`, clients by id. */
  evict(changes: readonly { entity: string; entityKey: string }[]): void {
    let changed = false;
    for (const { entity, entityKey } of changes) {
      if (entity === 'credential') {
        const slash = entityKey.indexOf('/');
        this.evictCredential(entityKey.slice(0, slash), entityKey.slice(slash + 1));
        changed = true;
      } else if (entity === 'client') {
        for (const id of [...(this.digestsOf.get(entityKey)?.keys() ?? [])]) this.evictCredential(entityKey, id);
        changed = true;
      }
    }
    if (!changed) return;
    this.generation++;
    this.negative.clear();
  }

  private evictCredential(clientId: string, id: string): void {
    // A copy: each delete's dispose shrinks the list being read.
    for (const digest of [...(this.digestsOf.get(clientId)?.get(id) ?? [])]) this.positive.delete(digest);
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

/**
 * One frozen array per distinct list: a million credentials typically share a handful of
 * environment, project and scope lists, and each copy would cost 50–100 bytes. Frozen, so that no
 * caller can change the lists of every credential sharing one.
 */
const sharedLists = new LRUCache<string, string[]>({ max: 10_000 });
function shared(list: string[]): string[] {
  const key = list.join('\n');
  let found = sharedLists.get(key);
  if (found === undefined) sharedLists.set(key, (found = Object.freeze([...list]) as string[]));
  return found;
}

function compile(c: CredentialRecord, secret: SecretRecord): CachedCredential {
  const ranges = c.allowedIpRanges.length === 0 ? NO_RANGES : parseIpRanges(c.allowedIpRanges);
  const origins = c.allowedOrigins.length === 0 ? NO_ORIGINS : parseOrigins(c.allowedOrigins);
  const credential: RuntimeCredential = {
    clientId: c.clientId,
    id: c.id,
    class: c.class,
    format: c.format,
    publicId: c.publicId,
    environments: shared(c.environments),
    projects: shared(c.projects),
    scopes: shared(c.scopes),
    allowedOrigins: shared(c.allowedOrigins),
    allowedIpRanges: shared(c.allowedIpRanges),
    rateLimit: c.rateLimit,
    expireTime: c.expireTime,
    state: c.state,
    revokeTime: c.revokeTime,
  };
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

const NO_RANGES = parseIpRanges([]);
const NO_ORIGINS = parseOrigins([]);
const DENY_ALL_RANGES = (() => {
  const r = parseIpRanges(['255.255.255.255/32']);
  return r.ok ? r.ranges : ([] as unknown as IpRanges);
})();
const DENY_ALL_ORIGINS = (() => {
  const o = parseOrigins(['https://deny.invalid']);
  return o.ok ? o.patterns : ([] as unknown as OriginPatterns);
})();
