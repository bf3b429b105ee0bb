import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * A small harness for browser tests: Debian's Chromium driven by playwright-core (never a
 * downloaded browser), page code bundled with esbuild, and a tiny HTTP server on 127.0.0.1 that
 * serves it, so the page has a real origin (`http://127.0.0.1:<port>`) and every call it makes to
 * latchkey is a cross-origin request with CORS and preflights, as in production.
 *
 * Page code is a TypeScript module under test/support/browser-pages/ whose exports are functions;
 * `run(name, arg)` calls one in the page and returns its (awaited, JSON-serialisable) result.
 *
 *   const browser = await launchBrowser();
 *   const page = await browser.open('test/support/browser-pages/ofrep-web.ts');
 *   const value = await page.run<boolean>('start', { baseUrl, key });
 *   await browser.close();
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** The global the bundle assigns the page module's exports to. */
const PAGE_GLOBAL = '__page';

/** Bundles a page module for the browser: one IIFE script that sets `window.__page` to its exports. */
export async function bundlePage(entry: string, define: Record<string, string> = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: PAGE_GLOBAL,
    platform: 'browser',
    target: 'es2020',
    sourcemap: 'inline',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', ...define },
  });
  return result.outputFiles[0]!.text;
}

export interface PageServer {
  /** `http://<host>:<port>`: what the browser sends as `Origin`. */
  readonly origin: string;
  /** Serves `script` at `/<name>.js` and a page loading it at `/<name>.html`. */
  add(name: string, script: string): string;
  close(): Promise<void>;
}

/** A tiny static server for page scripts. `host` picks the origin (`127.0.0.1` or `localhost` give two distinct ones). */
export async function startPageServer(host: '127.0.0.1' | 'localhost' = '127.0.0.1'): Promise<PageServer> {
  const scripts = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/([\w-]+)\.(html|js)$/.exec(path);
    const script = m ? scripts.get(m[1]!) : undefined;
    if (!m || script === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (m[2] === 'js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(script);
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(`<!doctype html><html><head><meta charset="utf-8"><title>${m[1]}</title></head><body><script src="/${m[1]}.js"></script></body></html>`);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    add(name, script) {
      scripts.set(name, script);
      return `${origin}/${name}.html`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One HTTP exchange the page made, as the browser saw it (preflights are not reported by the browser). */
export interface PageExchange {
  method: string;
  url: string;
  status: number;
  /** Lower-case names. */
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
}

export interface TestPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** The page's origin. */
  readonly origin: string;
  /** Console lines and uncaught errors of the page, to put in failure messages. */
  readonly logs: string[];
  /** Every response the page received (fetch and XHR included), in order. */
  readonly exchanges: PageExchange[];
  /** Calls the page module's export `name` with `arg` and resolves to its result. */
  run<T = unknown>(name: string, arg?: unknown): Promise<T>;
  /** Loads the page again in the same context (same origin and localStorage): a returning visitor. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Origin host; `localhost` gives a second origin besides the default `127.0.0.1`. */
  host?: '127.0.0.1' | 'localhost';
  /** esbuild `define`s for the page bundle. */
  define?: Record<string, string>;
}

export interface BrowserHarness {
  readonly browser: Browser;
  /** Bundles `entry` (a path from the repository root), serves it and opens it in a fresh context (empty storage). */
  open(entry: string, options?: OpenOptions): Promise<TestPage>;
  /** Closes every page, the page servers and the browser. */
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHarness> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  const servers = new Map<string, Promise<PageServer>>();
  const bundles = new Map<string, Promise<string>>();
  const pages: TestPage[] = [];
  const serverFor = (host: '127.0.0.1' | 'localhost') => {
    let s = servers.get(host);
    if (!s) servers.set(host, (s = startPageServer(host)));
    return s;
  };
  return {
    browser,
    async open(entry, options = {}) {
      const key = `${entry}\n${JSON.stringify(options.define ?? {})}`;
      let bundle = bundles.get(key);
      if (!bundle) bundles.set(key, (bundle = bundlePage(entry, options.define)));
      const server = await serverFor(options.host ?? '127.0.0.1');
      const name = entry.replace(/^.*\//, '').replace(/\.[jt]s$/, '').replace(/[^\w-]/g, '-');
      const url = server.add(name, await bundle);
      const context = await browser.newContext();
      const page = await context.newPage();
      const logs: string[] = [];
      const exchanges: PageExchange[] = [];
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      page.on('response', (r) => {
        if (r.url() === url || r.url().endsWith(`/${name}.js`)) return;
        void Promise.all([r.request().allHeaders(), r.allHeaders()]).then(([requestHeaders, responseHeaders]) => {
          exchanges.push({ method: r.request().method(), url: r.url(), status: r.status(), requestHeaders, responseHeaders });
        });
      });
      const load = async () => {
        await page.goto(url);
        await page.waitForFunction((g) => (globalThis as unknown as Record<string, unknown>)[g] !== undefined, PAGE_GLOBAL);
      };
      await load();
      const testPage: TestPage = {
        page,
        context,
        origin: server.origin,
        logs,
        exchanges,
        async run<T>(fn: string, arg?: unknown) {
          try {
            return (await page.evaluate(
              async ([g, f, a]) => {
                const mod = (globalThis as unknown as Record<string, Record<string, (x: unknown) => unknown>>)[g as string];
                const target = mod?.[f as string];
                if (typeof target !== 'function') throw new Error(`the page module exports no function ${String(f)}`);
                return await target(a);
              },
              [PAGE_GLOBAL, fn, arg] as const,
            )) as T;
          } catch (err) {
            throw new Error(`${(err as Error).message}\npage logs:\n${logs.join('\n')}`);
          }
        },
        reload: load,
        async close() {
          await context.close();
        },
      };
      pages.push(testPage);
      return testPage;
    },
    async close() {
      for (const p of pages) await p.close().catch(() => undefined);
      await browser.close();
      for (const s of servers.values()) await (await s).close();
    },
  };
}
