import { ChangeFeed } from '../changes/change-feed.js';
import { compileFlag, type CompiledFlag } from '../flags/compile.js';
import { toDefinition } from './definition.js';
import type { EnvironmentRecord, FlagAdminStore, FlagRecord } from './model.js';

export type { CompiledFlag } from '../flags/compile.js';

/** What the catalog reads; a subset of the flag admin store. */
export type FlagCatalogStore = Pick<FlagAdminStore, 'snapshot' | 'changesSince' | 'getFlag' | 'getEnvironment' | 'getProject'>;

export interface CatalogEnvironment {
  readonly id: string;
  readonly production: boolean;
}

export interface FlagCatalogOptions {
  /** Where failures of background refreshes (and of refreshes after a write) are reported. */
  onError?: (err: unknown) => void;
  /** Milliseconds clock, for how long a change_log gap is watched; tests replace it. */
  clock?: () => number;
}

const ENTITIES = new Set(['flag', 'project', 'environment']);

/**
 * The flags, environments and projects the resolver reads, in memory, with every flag compiled
 * once when it changes (never per request).
 *
 * `load()` reads everything once. After that the catalog follows change_log: `refresh()` reads the
 * rows after the last sequence number it has seen and reloads exactly the entities they name. The
 * admin domain calls `changed()` after each committed write, so the change is visible on the very
 * next request on this replica; `startPolling()` picks up other replicas' changes.
 */
export class FlagCatalog {
  private compiled = new Map<string, CompiledFlag>();
  private envs = new Map<string, CatalogEnvironment>();
  private projects = new Set<string>();
  private sortedFlags: readonly CompiledFlag[] = [];
  /** change_log, followed without missing late commits (src/changes/change-feed.ts). */
  private readonly feed: ChangeFeed;
  private loaded = false;
  /** See flagStateVersion. */
  private flagState = 0;
  private running: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private changeCount = 0;
  private readonly onError: (err: unknown) => void;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: FlagCatalogStore,
    options: FlagCatalogOptions = {},
  ) {
    this.onError = options.onError ?? (() => undefined);
    this.feed = new ChangeFeed(store, options.clock);
  }

  /** Reads every project, environment and flag, and compiles the flags. */
  load(): Promise<void> {
    const next = this.running.catch(() => undefined).then(() => this.loadAll());
    this.running = next;
    return next;
  }

  private async loadAll(): Promise<void> {
    const snap = await this.store.snapshot();
    this.projects = new Set(snap.projects.map((p) => p.id));
    this.envs = new Map(snap.environments.map((e) => [e.id, environmentOf(e)]));
    this.compiled = new Map();
    for (const f of snap.flags) this.putFlag(f);
    await this.feed.startAt(snap.seq);
    this.flagState = snap.seq;
    this.loaded = true;
    this.rebuild();
  }

  /**
   * Applies every change committed since the last refresh. Calls are serialised; a call made while
   * one runs waits for a fresh run, so it always sees writes that committed before it was made.
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.loaded ? this.applyChanges() : this.loadAll();
    });
    this.queued = next;
    this.running = next;
    return next;
  }

  /** For the admin domain after a committed write: refreshes, reporting (never throwing) failures. */
  changed = async (): Promise<void> => {
    try {
      await this.refresh();
    } catch (err) {
      this.onError(err);
    }
  };

  /** Refreshes every `intervalMs` until `stopPolling()`; the timer never keeps the process alive. */
  startPolling(intervalMs = 500): void {
    this.stopPolling();
    this.timer = setInterval(() => {
      this.refresh().catch(this.onError);
    }, intervalMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every flag (active and archived), in id order. The array is replaced, never mutated, on change. */
  flags(): readonly CompiledFlag[] {
    return this.sortedFlags;
  }

  flag(id: string): CompiledFlag | undefined {
    return this.compiled.get(id);
  }

  environment(id: string): CatalogEnvironment | undefined {
    return this.envs.get(id);
  }

  environments(): readonly CatalogEnvironment[] {
    return [...this.envs.values()];
  }

  hasProject(id: string): boolean {
    return this.projects.has(id);
  }

  // The client-credentials domain's view of environments and projects.
  environmentExists(id: string): boolean {
    return this.envs.has(id);
  }

  isProduction(id: string): boolean {
    return this.envs.get(id)?.production === true;
  }

  projectExists(id: string): boolean {
    return this.projects.has(id);
  }

  /** Grows by one on every applied change (a cheap cache key for derived data, e.g. ETags). */
  get version(): number {
    return this.changeCount;
  }

  /** The newest change_log sequence number applied. */
  get position(): number {
    return this.feed.position;
  }

  /**
   * The newest change_log sequence number of a flag, environment or project change applied (the
   * position the catalog loaded at, until one is): other writes (credentials, API clients) do not
   * move it, so an SDK told this version is not sent refetching by a credential change, and every
   * replica that has applied the same changes reports the same version. Never decreasing. A change
   * that commits late, below it, is applied but does not move it (SDKs see it at their next poll).
   */
  get flagStateVersion(): number {
    return this.flagState;
  }

  private async applyChanges(): Promise<void> {
    const flags = new Set<string>();
    const envs = new Set<string>();
    const projects = new Set<string>();
    let newest = this.flagState;
    for (const row of await this.feed.next()) {
      if (!ENTITIES.has(row.entity)) continue;
      newest = Math.max(newest, row.seq);
      (row.entity === 'flag' ? flags : row.entity === 'environment' ? envs : projects).add(row.entityKey);
    }
    if (flags.size + envs.size + projects.size === 0) return;

    const [flagRows, envRows, projectRows] = await Promise.all([
      Promise.all([...flags].map(async (id) => [id, await this.store.getFlag(id)] as const)),
      Promise.all([...envs].map(async (id) => [id, await this.store.getEnvironment(id)] as const)),
      Promise.all([...projects].map(async (id) => [id, await this.store.getProject(id)] as const)),
    ]);
    for (const [id, f] of flagRows) {
      if (f) this.putFlag(f);
      else this.compiled.delete(id);
    }
    for (const [id, e] of envRows) {
      if (e) this.envs.set(id, environmentOf(e));
      else this.envs.delete(id);
    }
    for (const [id, p] of projectRows) {
      if (p) this.projects.add(id);
      else this.projects.delete(id);
    }
    this.flagState = newest;
    this.rebuild();
  }

  private putFlag(record: FlagRecord): void {
    const compiled = compileFlag(toDefinition(record));
    // Such a flag resolves with reason ERROR (the other flags are unaffected); operators should know.
    if (compiled.compileError !== undefined) this.onError(new Error(`flags/${record.id} does not compile: ${compiled.compileError}`));
    this.compiled.set(record.id, compiled);
  }

  /**
   * Calls `listener` after every applied change of flags, environments or projects (once the new
   * state is readable); returns a function that removes it. A listener that throws is reported to
   * `onError` and does not stop the others.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    this.sortedFlags = [...this.compiled.keys()].sort().map((id) => this.compiled.get(id)!);
    this.changeCount++;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

function environmentOf(e: EnvironmentRecord): CatalogEnvironment {
  return { id: e.id, production: e.production };
}
