/**
 * Page code for the Reflag browser SDK test (test/e2e/compat/reflag-browser.test.ts): a web app
 * using @reflag/browser-sdk 1.6.1, unchanged, pointed at latchkey with `apiBaseUrl` and a
 * publishable key, live updates on. Runs in Chromium (test/support/browser.ts); every export is
 * called with `run`. No DOM typings are used: browser globals go through globalThis.
 */
import { ReflagClient } from '@reflag/browser-sdk';

export interface StartOptions {
  apiBaseUrl: string;
  publishableKey: string;
  user: { id: string | number } & Record<string, string | number>;
  company?: { id: string | number } & Record<string, string | number>;
  other?: Record<string, string | number>;
}

export interface FlagState {
  isEnabled: boolean;
  config: { key: string | undefined; payload: unknown };
}

let client: ReflagClient | undefined;
let updates = 0;
const problems: string[] = [];

const logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => void problems.push(`warn ${args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
  error: (...args: unknown[]) => void problems.push(`error ${args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`),
};

/** Creates the client as an application would, and waits for `initialize()`. */
export async function start(o: StartOptions): Promise<string> {
  client = new ReflagClient({
    publishableKey: o.publishableKey,
    apiBaseUrl: o.apiBaseUrl,
    user: o.user,
    ...(o.company && { company: o.company }),
    ...(o.other && { other: o.other }),
    enableLiveFlagUpdates: true,
    feedback: { enableAutoFeedback: false },
    toolbar: false,
    logger,
  });
  client.on('flagsUpdated', () => {
    updates++;
  });
  await client.initialize();
  return client.getState();
}

/** What the application reads of each flag. */
export function flags(): Record<string, FlagState> {
  const c = client!;
  return Object.fromEntries(
    Object.keys(c.getFlags())
      .sort()
      .map((key) => {
        const f = c.getFlag(key);
        return [key, { isEnabled: f.isEnabled, config: { key: f.config.key, payload: f.config.payload } }];
      }),
  );
}

/** `flagsUpdated` events so far. */
export function updateCount(): number {
  return updates;
}

/** Tracks an event (POST /event); resolves to the HTTP status. */
export async function track(name: string): Promise<number | undefined> {
  return (await client!.track(name, { source: 'test' }))?.status;
}

/** Sends feedback (POST /feedback); resolves to the HTTP status. */
export async function feedback(flagKey: string): Promise<number | undefined> {
  return (await client!.feedback({ flagKey, score: 4, comment: 'nice' }))?.status;
}

/** Stops the client (flushes its bulk queue: POST /bulk). */
export async function stop(): Promise<void> {
  await client!.stop();
}

/** What the SDK warned about or logged as errors. */
export function logged(): string[] {
  return problems;
}
