/**
 * Page code for the OFREP web provider test (test/e2e/compat/ofrep-web.test.ts): a web app using
 * @openfeature/web-sdk with @openfeature/ofrep-web-provider, unchanged, pointed at latchkey with a
 * publishable key. Runs in Chromium (test/support/browser.ts); every export is called with `run`.
 * No DOM typings are used (the repository's tsconfig has none): browser globals go through globalThis.
 */
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, ProviderEvents, type EvaluationContext, type JsonValue } from '@openfeature/web-sdk';

export interface StartOptions {
  baseUrl: string;
  /** The publishable key, sent as `Authorization: Bearer` or as the `publishableKey` query parameter. */
  key: string;
  keyVia: 'header' | 'query';
  context: EvaluationContext;
  /** Polling interval in ms (0: no polling). */
  pollInterval?: number;
}

export interface FlagQuery {
  key: string;
  type: 'boolean' | 'string' | 'number' | 'object';
  defaultValue: JsonValue;
}

const events: { type: string; flagsChanged?: string[]; message?: string }[] = [];

/** Registers the provider and waits until it is ready (its first bulk evaluation); resolves to `ready` or the error. */
export async function start(o: StartOptions): Promise<string> {
  const provider = new OFREPWebProvider({
    baseUrl: o.baseUrl,
    ...(o.keyVia === 'header' ? { headers: [['Authorization', `Bearer ${o.key}`]] as [string, string][] } : { query: new URLSearchParams({ publishableKey: o.key }) }),
    pollInterval: o.pollInterval ?? 0,
    // Polling is this test's change detection: latchkey offers no OFREP event stream.
    changeDetection: 'polling',
  });
  for (const type of [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.Error, ProviderEvents.Stale]) {
    OpenFeature.addHandler(type, (details) => {
      events.push({ type, flagsChanged: (details as { flagsChanged?: string[] } | undefined)?.flagsChanged, message: (details as { message?: string } | undefined)?.message });
    });
  }
  try {
    await OpenFeature.setProviderAndWait(provider, o.context);
    return 'ready';
  } catch (err) {
    return `error: ${(err as Error).name}: ${(err as Error).message}`;
  }
}

/** Evaluation details, as the application reads them, of each flag. */
export function details(flags: FlagQuery[]) {
  const client = OpenFeature.getClient();
  return flags.map((f) => {
    const d =
      f.type === 'boolean'
        ? client.getBooleanDetails(f.key, f.defaultValue as boolean)
        : f.type === 'string'
          ? client.getStringDetails(f.key, f.defaultValue as string)
          : f.type === 'number'
            ? client.getNumberDetails(f.key, f.defaultValue as number)
            : client.getObjectDetails(f.key, f.defaultValue as never);
    return { key: d.flagKey, value: d.value, variant: d.variant ?? null, reason: d.reason ?? null, errorCode: d.errorCode ?? null, flagMetadata: d.flagMetadata };
  });
}

/** Changes the evaluation context (the provider evaluates every flag again). */
export async function setContext(context: EvaluationContext): Promise<void> {
  await OpenFeature.setContext(context);
}

/** Provider events seen so far. */
export function seenEvents() {
  return events;
}

/** Resolves once a provider event of `type` has been seen (counting from `after`), or rejects after `timeoutMs`. */
export async function waitForEvent(arg: { type: string; after: number; timeoutMs: number }) {
  const deadline = Date.now() + arg.timeoutMs;
  for (;;) {
    const found = events.slice(arg.after).find((e) => e.type === arg.type);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${arg.type} event within ${arg.timeoutMs} ms; events: ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a page script can read of a bulk evaluation answered cross-origin (CORS exposed headers). */
export async function probe(arg: { baseUrl: string; key: string; ifNoneMatch?: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${arg.key}` };
  if (arg.ifNoneMatch) headers['if-none-match'] = arg.ifNoneMatch;
  const res = await fetch(`${arg.baseUrl}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body: JSON.stringify({ context: { targetingKey: 'probe' } }) });
  return {
    status: res.status,
    etag: res.headers.get('etag'),
    rateLimitLimit: res.headers.get('x-ratelimit-limit'),
    rateLimitRemaining: res.headers.get('x-ratelimit-remaining'),
    body: await res.text(),
  };
}

export async function close(): Promise<void> {
  await OpenFeature.close();
}
