import type { IpRanges, OriginPatterns } from '../credentials/allow-lists.js';
import { parseIpRanges, parseOrigins } from '../credentials/allow-lists.js';
import { clientName, credentialName, type CredentialRecord, type CredentialStore, type SecretRecord } from './model.js';

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
 * Credentials by secret digest, in memory, so the request path makes no
 * database query for a known (or recently unknown) secret. Any change to a
 * credential or client empties the cache: at once on the replica that made
 * it (`invalidate()`), and within `pollMs` on the others, which watch the
 * change_log sequence. A lookup that raced with an invalidation is not
 * cached, so a stale answer can never outlive the change.
 */
export class CredentialCache {
  private positive = new Map<string, CachedCredential>();
  /** Digests known to match nothing; bounded, oldest forgotten first. */
  private negative = new Set<string>();
  private generation = 0;
  private lastSeq = 0;
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
      if (entry) this.positive.set(digest, entry);
      else {
        if (this.negative.size >= NEGATIVE_MAX) this.negative.delete(this.negative.values().next().value as string);
        this.negative.add(digest);
      }
    }
    return entry;
  }

  invalidate(): void {
    this.generation++;
    this.positive = new Map();
    this.negative = new Set();
  }

  /** Starts watching other replicas' changes. */
  async start(pollMs: number, onError: (err: unknown) => void): Promise<void> {
    this.lastSeq = await this.store.latestChange();
    this.timer = setInterval(() => {
      this.store.latestChange().then((seq) => {
        if (seq !== this.lastSeq) {
          this.lastSeq = seq;
          this.invalidate();
        }
      }, onError);
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
