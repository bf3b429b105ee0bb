/**
 * The Node SDK's own evaluator (unleash-client 6.12, unchanged), run in-process on translated
 * features, and latchkey's evaluation of the same Unleash context, so the two can be compared.
 */
import { compileFlag } from '../../../src/flags/compile.js';
import { resolveFlag } from '../../../src/flags/evaluate.js';
import type { FlagDefinition } from '../../../src/flags/model.js';
import { evaluationContextOf } from '../../../src/routes/unleash/context.js';
import { DISABLED, servedOf, type Served } from '../../../src/routes/unleash/served.js';
import type { UnleashClientFeature } from '../../../src/routes/unleash/translate.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const UnleashClient = require('unleash-client/lib/client').default;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultStrategies } = require('unleash-client/lib/strategy');

export interface UnleashContext {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  properties?: Record<string, string | number>;
}

export interface SdkClient {
  isEnabled(name: string, context: UnleashContext, fallback: () => boolean): boolean;
  getVariant(name: string, context: UnleashContext): { name: string; enabled: boolean; payload?: { type: string; value: string } };
}

/** An Unleash SDK client holding exactly these features. */
export function sdkWith(features: UnleashClientFeature[]): SdkClient {
  const byName = new Map(features.map((f) => [f.name, f]));
  return new UnleashClient({ getToggle: (n: string) => byName.get(n), getSegment: () => undefined }, defaultStrategies);
}

const STATIC = { appName: 'test-app', environment: 'default' };

/** What the SDK answers, in the shape of `Served`. */
export function sdkAnswer(client: SdkClient, name: string, context: UnleashContext): Served {
  const ctx = { ...STATIC, ...context };
  const enabled = client.isEnabled(name, ctx, () => false);
  if (!enabled) return DISABLED;
  const v = client.getVariant(name, ctx);
  if (!v.enabled) return { enabled: true, variant: '<no variant>' };
  return v.payload ? { enabled: true, variant: v.name, payload: v.payload as never } : { enabled: true, variant: v.name };
}

/** What latchkey answers for the same Unleash context (as the frontend API maps it). */
const compiled = new WeakMap<FlagDefinition, ReturnType<typeof compileFlag>>();
export function latchkeyAnswer(def: FlagDefinition, context: UnleashContext): Served {
  let flag = compiled.get(def);
  if (!flag) compiled.set(def, (flag = compileFlag(def)));
  const r = resolveFlag(flag, evaluationContextOf({ ...STATIC, ...context }), () => true);
  return r.variant === undefined ? DISABLED : servedOf(r.variant, r.value!);
}
