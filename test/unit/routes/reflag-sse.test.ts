import { EventEmitter } from 'node:events';
import type { CredentialPrincipal } from '../../../src/auth/principal.js';
import { compileFlag, type CompiledFlag } from '../../../src/flags/compile.js';
import type { FlagDefinition } from '../../../src/flags/model.js';
import { ReflagUpdates, updateMessage, type UpdatesCatalog } from '../../../src/routes/reflag/sse.js';
import type { HttpResponse } from '../../../src/server/http-util.js';
import type { RequestInfo } from '../../../src/server/request-info.js';

class FakeCatalog implements UpdatesCatalog {
  flagStateVersion = 7;
  readonly listeners = new Set<() => void>();
  private current: CompiledFlag[] = [];
  flags() {
    return this.current;
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Replaces flags (by id) the way the catalog does: a new array, new objects for changed flags only. */
  apply(defs: FlagDefinition[], remove: string[] = []) {
    const byId = new Map(this.current.map((f) => [f.id, f]));
    for (const d of defs) byId.set(d.id, compileFlag(d));
    for (const id of remove) byId.delete(id);
    this.current = [...byId.values()];
    this.flagStateVersion++;
    for (const l of this.listeners) l();
  }
}

class FakeResponse extends EventEmitter {
  statusCode = 0;
  readonly headers: Record<string, string> = {};
  readonly chunks: string[] = [];
  writableEnded = false;
  destroyed = false;
  writableLength = 0;
  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string) {
    if (chunk) this.chunks.push(chunk);
    this.writableEnded = true;
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
  /** The flag state versions pushed so far. */
  versions(): number[] {
    return this.chunks.flatMap((c) => [...c.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { data: { flagStateVersion: number } }).data.flagStateVersion));
  }
}

const def = (id: string, spec: Partial<FlagDefinition> = {}): FlagDefinition => ({
  id,
  project: 'default',
  description: '',
  state: 'ACTIVE',
  secret: false,
  kind: 'BOOLEAN',
  variants: [
    { name: 'on', value: true },
    { name: 'off', value: false },
  ],
  defaultVariant: 'off',
  salt: id,
  rules: [],
  ...spec,
});
const principal = (cls: 'SECRET' | 'PUBLISHABLE', environments: string[], scopes = ['flags:read']): CredentialPrincipal => ({
  kind: 'credential',
  name: `clients/app/credentials/${cls.toLowerCase()}-${environments.join('-')}`,
  client: 'clients/app',
  class: cls,
  environments,
  projects: ['default'],
  scopes,
});
const visible = (p: CredentialPrincipal, d: FlagDefinition) => (p.projects.includes('*') || p.projects.includes(d.project)) && (!d.secret || p.class === 'SECRET');
const info = { reason: undefined } as unknown as RequestInfo;
const onRule = (environments: string[], name = 'r') => ({ name, enabled: true, environments, conditions: [], randomizationUnit: '', allocations: [{ variant: 'on', weight: 10000 }] });

describe('Reflag live updates (sse.ts)', () => {
  let catalog: FakeCatalog;
  let updates: ReflagUpdates;
  beforeEach(() => {
    catalog = new FakeCatalog();
    catalog.apply([def('a'), def('b', { secret: true }), def('c', { kind: 'OBJECT', variants: [{ name: 'x', value: {} }], defaultVariant: 'x' }), def('m', { project: 'mobile' })]);
    updates = new ReflagUpdates(catalog, visible);
  });
  afterEach(() => updates.close());

  const open = (p: CredentialPrincipal) => {
    const res = new FakeResponse();
    updates.open(res as unknown as HttpResponse, info, p);
    return res;
  };

  it('a stream starts with the reconnection delay and the current version, as an SSE message of the default type', () => {
    const res = open(principal('SECRET', ['development']));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.chunks).toEqual([`retry: 10000\n\n${updateMessage(8)}`]);
    expect(updateMessage(8)).toBe('data: {"name":"flags-updated","data":{"flagStateVersion":8}}\n\n');
  });

  it('pushes a change to a flag the credential sees, as it sees it, and nothing else', () => {
    const dev = open(principal('PUBLISHABLE', ['development']));
    const prod = open(principal('PUBLISHABLE', ['production']));
    const secret = open(principal('SECRET', ['production'], ['flags:read', 'configs:read']));
    catalog.apply([def('a', { rules: [onRule(['development'])] })]); // 9: a development rule
    catalog.apply([def('b', { secret: true, description: 'x' })]); // 10: a secret flag
    catalog.apply([def('c', { kind: 'OBJECT', variants: [{ name: 'x', value: { y: 1 } }], defaultVariant: 'x' })]); // 11: a config
    catalog.apply([def('m', { project: 'mobile', description: 'y' })]); // 12: another project
    catalog.apply([], ['a']); // 13: a deleted
    catalog.apply([def('a')]); // 14: a back
    expect(dev.versions()).toEqual([8, 9, 13, 14]);
    expect(prod.versions()).toEqual([8, 13, 14]);
    expect(secret.versions()).toEqual([8, 10, 11, 13, 14]);
  });

  it('forgets a stream when its connection closes, and keeps one catalog listener for all streams', () => {
    const streams = Array.from({ length: 1000 }, () => open(principal('SECRET', ['development'])));
    expect(updates.size).toBe(1000);
    expect(catalog.listeners.size).toBe(1);
    for (const s of streams) s.emit('close');
    expect(updates.size).toBe(0);
    catalog.apply([def('a', { description: 'changed' })]);
    expect(streams.every((s) => s.chunks.length === 1)).toBe(true);
  });

  it('cuts a stream whose client reads nothing', () => {
    const res = open(principal('SECRET', ['development']));
    res.writableLength = 1024 * 1024;
    catalog.apply([def('a', { description: 'changed' })]);
    expect([res.destroyed, updates.size]).toEqual([true, 0]);
  });

  it('close() ends every stream, stops listening and refuses new streams with 503', () => {
    const a = open(principal('SECRET', ['development']));
    const b = open(principal('PUBLISHABLE', ['development']));
    updates.close();
    expect([a.writableEnded, b.writableEnded, updates.size, catalog.listeners.size]).toEqual([true, true, 0, 0]);
    const late = new FakeResponse() as FakeResponse & { end: (body: string) => void };
    updates.open(late as unknown as HttpResponse, info, principal('SECRET', ['development']));
    expect(late.statusCode).toBe(503);
    expect(JSON.parse(late.chunks.join(''))).toEqual({ code: 'UNAVAILABLE', reason: 'SHUTTING_DOWN', message: 'this replica is shutting down; reconnect to get flag updates from another one' });
  });
});
