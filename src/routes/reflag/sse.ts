/**
 * Live updates for Reflag's SDKs: `GET sse/server` (the Node SDK's `flagsPushUrl`, SECRET keys)
 * and `GET sse/client` (the browser SDK's EventSource, publishable key in the query). Both are
 * server-sent event streams whose messages are
 *
 *   data: {"name":"flags-updated","data":{"flagStateVersion":N}}
 *
 * (default event type, as both SDKs read them); an SDK then fetches `features` or
 * `features/evaluated` with `waitForVersion=N`.
 *
 * - One message when the stream opens (the current version: an SDK that fell behind while
 *   reconnecting catches up), then one whenever the catalog applies a change to a flag the
 *   credential may see, as it sees it: a flag of its projects (not secret, for a publishable key;
 *   OBJECT flags only with configs:read) whose rules for its environments, variants, default or
 *   state changed, or that appeared or went away. A change to another environment's rules, another
 *   project's flags or secret flags sends nothing to a publishable key's stream. Changes other
 *   replicas make arrive with the catalog's poll of the change log.
 * - A comment line every HEARTBEAT_MS keeps proxies from closing an idle stream.
 * - One catalog listener serves every stream; a stream is forgotten when its connection closes.
 *   `close()` (the server's shutdown, before it drains) ends every stream and refuses new ones
 *   with 503, so open streams never hold the drain; the SDKs reconnect to another replica.
 */
import type { CredentialPrincipal } from '../../auth/principal.js';
import { ruleAppliesToEnvironments } from '../../credentials/environments.js';
import { hasScope } from '../../credentials/scopes.js';
import { DomainError } from '../../domain/errors.js';
import type { CompiledFlag } from '../../flags/compile.js';
import type { FlagDefinition } from '../../flags/model.js';
import type { HttpResponse } from '../../server/http-util.js';
import type { RequestInfo } from '../../server/request-info.js';
import { sendDomainError } from '../runtime-http.js';
import { fingerprint } from './views.js';

export interface UpdatesCatalog {
  /** What `flags-updated` announces (FlagCatalog.flagStateVersion). */
  readonly flagStateVersion: number;
  flags(): readonly CompiledFlag[];
  /** Calls `listener` after each applied change; returns a function that removes it. */
  onChange(listener: () => void): () => void;
}

export const HEARTBEAT_MS = 25_000;
/** A stream whose client reads nothing while this much is queued is cut (it will reconnect). */
const MAX_QUEUED_BYTES = 64 * 1024;
/** What an EventSource waits before reconnecting after the stream ends. */
const RETRY_MS = 10_000;

interface Stream {
  principal: CredentialPrincipal;
  configs: boolean;
  environmentsKey: string;
  res: HttpResponse;
  heartbeat: NodeJS.Timeout;
}

export function updateMessage(version: number): string {
  return `data: ${JSON.stringify({ name: 'flags-updated', data: { flagStateVersion: version } })}\n\n`;
}

export class ReflagUpdates {
  private readonly streams = new Set<Stream>();
  private previous: readonly CompiledFlag[];
  private byId = new Map<string, CompiledFlag>();
  /** A flag version's view for one set of credential environments, by fingerprint. */
  private readonly views = new WeakMap<CompiledFlag, Map<string, number>>();
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly catalog: UpdatesCatalog,
    /** FlagResolver.visible: the credential's projects, and secret flags for SECRET credentials only. */
    private readonly visible: (principal: CredentialPrincipal, def: FlagDefinition) => boolean,
    private readonly heartbeatMs = HEARTBEAT_MS,
  ) {
    this.previous = catalog.flags();
    for (const f of this.previous) this.byId.set(f.id, f);
    this.unsubscribe = catalog.onChange(() => this.changed());
  }

  /** Open streams (for tests and metrics). */
  get size(): number {
    return this.streams.size;
  }

  /** Serves `res` as a stream of updates for `principal` until the client goes away or `close()`. */
  open(res: HttpResponse, info: RequestInfo, principal: CredentialPrincipal): void {
    if (this.closed) {
      return sendDomainError(res, info, new DomainError('unavailable', 'SHUTTING_DOWN', 'this replica is shutting down; reconnect to get flag updates from another one'));
    }
    res.statusCode = 200;
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('x-accel-buffering', 'no');
    const stream: Stream = {
      principal,
      configs: hasScope(principal.scopes, 'configs:read'),
      environmentsKey: principal.environments.join('\u0000'),
      res,
      heartbeat: setInterval(() => this.write(stream, ': keep-alive\n\n'), this.heartbeatMs),
    };
    stream.heartbeat.unref();
    this.streams.add(stream);
    res.once('close', () => this.forget(stream));
    this.write(stream, `retry: ${RETRY_MS}\n\n${updateMessage(this.catalog.flagStateVersion)}`);
  }

  /** Ends every stream and refuses new ones; stops listening to the catalog. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const stream of [...this.streams]) {
      this.forget(stream);
      stream.res.end();
    }
  }

  private forget(stream: Stream): void {
    clearInterval(stream.heartbeat);
    this.streams.delete(stream);
  }

  private write(stream: Stream, text: string): void {
    const res = stream.res;
    if (res.writableEnded || res.destroyed) return this.forget(stream);
    if (res.writableLength > MAX_QUEUED_BYTES) {
      this.forget(stream);
      res.destroy();
      return;
    }
    (res as { write(chunk: string): boolean }).write(text);
  }

  private changed(): void {
    const now = this.catalog.flags();
    if (now === this.previous) return;
    const before = this.byId;
    const after = new Map<string, CompiledFlag>();
    for (const f of now) after.set(f.id, f);
    const changes: [CompiledFlag | undefined, CompiledFlag | undefined][] = [];
    for (const [id, f] of after) if (before.get(id) !== f) changes.push([before.get(id), f]);
    for (const [id, f] of before) if (!after.has(id)) changes.push([f, undefined]);
    this.previous = now;
    this.byId = after;
    if (changes.length === 0 || this.streams.size === 0) return;
    const message = updateMessage(this.catalog.flagStateVersion);
    for (const stream of [...this.streams]) {
      if (changes.some(([old, next]) => this.viewOf(stream, old) !== this.viewOf(stream, next))) this.write(stream, message);
    }
  }

  /** The fingerprint of a flag as the stream's credential sees it, or undefined when it does not. */
  private viewOf(stream: Stream, flag: CompiledFlag | undefined): number | undefined {
    if (flag === undefined) return undefined;
    const def = flag.definition;
    if (!this.visible(stream.principal, def) || (def.kind === 'OBJECT' && !stream.configs)) return undefined;
    let perEnvironments = this.views.get(flag);
    if (perEnvironments === undefined) this.views.set(flag, (perEnvironments = new Map()));
    let v = perEnvironments.get(stream.environmentsKey);
    if (v === undefined) {
      const environments = stream.principal.environments;
      v = fingerprint({ ...def, rules: def.rules.filter((r) => ruleAppliesToEnvironments(r.environments, environments)) });
      perEnvironments.set(stream.environmentsKey, v);
    }
    return v;
  }
}
