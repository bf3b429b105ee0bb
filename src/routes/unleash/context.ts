/**
 * The one mapping between an Unleash context and a latchkey evaluation context, used in both
 * directions so that the two Unleash APIs agree:
 *
 * - the frontend API turns the context an SDK sends into latchkey attributes
 *   (`evaluationContextOf`) and lets latchkey evaluate it;
 * - the client API translates rules for server SDKs, naming each latchkey attribute by the Unleash
 *   context field that carries it (`contextFieldOf`).
 *
 * Unleash's context is flat: `userId`, `sessionId`, `remoteAddress`, `environment`, `appName`,
 * `currentTime` and a `properties` map. An SDK reads a field as `context[field] ?? properties[field]`
 * (unleash-client `resolveContextValue`), so the latchkey attribute `<name>` is the top-level field
 * `<name>` when the SDK sends one and the property `<name>` otherwise. `targeting_key` is Unleash's
 * `userId` (and `userId` is the same value under its own name). A dotted latchkey path
 * (`user.country`) and the name `properties` address nothing an Unleash context can carry: for
 * Unleash callers those attributes are always missing.
 */
import type { EvaluationContext, JsonValue } from '../../flags/model.js';

/** The context fields of the Unleash specification other than `properties`. */
export const STANDARD_FIELDS = ['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'currentTime'] as const;
const STANDARD: ReadonlySet<string> = new Set(STANDARD_FIELDS);

/** latchkey's default randomization unit, which Unleash calls `userId`. */
export const TARGETING_KEY = 'targeting_key';

/**
 * The Unleash context field that carries a latchkey attribute, or undefined when no Unleash
 * context can carry it (the attribute is then always missing for Unleash callers).
 */
export function contextFieldOf(attribute: string): string | undefined {
  if (attribute === TARGETING_KEY) return 'userId';
  if (attribute === 'properties' || attribute.includes('.')) return undefined;
  return attribute;
}

/** A value a context attribute may hold when it comes from Unleash: a string, a finite number or a boolean. */
function scalarOf(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The latchkey evaluation context for an Unleash context (`{userId, sessionId, …, properties}`).
 *
 * - Properties become attributes of the same name; a top-level field that is not one of the
 *   standard ones is a property too (as Unleash's frontend API treats it), with `properties`
 *   winning over it.
 * - Standard fields win over a property of the same name, as `resolveContextValue` reads them.
 *   An empty standard field counts as absent, as Unleash drops it.
 * - `userId` (or, without one, the property `userId`) is `targeting_key` and `userId`. A property
 *   named `targeting_key` is ignored: Unleash SDKs never read one, so honouring it would make the
 *   frontend API answer differently from a server SDK.
 * - `remoteAddress` defaults to `clientAddress` when given (Unleash's frontend API does the same).
 * - Only strings, finite numbers and booleans are kept; lists, objects and null are dropped.
 */
export function evaluationContextOf(unleash: Record<string, unknown>, clientAddress?: string): EvaluationContext {
  const ctx: EvaluationContext = {};
  const put = (key: string, value: unknown) => {
    const scalar = scalarOf(value);
    if (scalar === undefined || key === TARGETING_KEY || key === 'properties') return;
    // defineProperty: a key named `__proto__` stays an ordinary own key (src/flags reads own keys only).
    Object.defineProperty(ctx, key, { value: scalar as JsonValue, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, value] of Object.entries(unleash)) if (!STANDARD.has(key)) put(key, value);
  if (isObject(unleash.properties)) for (const [key, value] of Object.entries(unleash.properties)) put(key, value);
  for (const field of STANDARD_FIELDS) {
    const value = scalarOf(unleash[field]);
    if (value !== undefined && value !== '') put(field, value);
  }
  if (ctx.remoteAddress === undefined && clientAddress) put('remoteAddress', clientAddress);
  const user = ctx.userId;
  if (user !== undefined) Object.defineProperty(ctx, TARGETING_KEY, { value: user, enumerable: true, writable: true, configurable: true });
  return ctx;
}

/**
 * The Unleash context of a `GET /api/frontend` query, as unleash-proxy-client writes it:
 * `?appName=web&userId=u1&properties[plan]=pro`. The first of repeated parameters counts;
 * `publishableKey` is a credential, never context.
 */
export function unleashContextOfQuery(params: URLSearchParams): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (key === 'publishableKey') continue;
    const m = /^properties\[(.+)\]$/.exec(key);
    const target = m ? properties : top;
    const name = m ? m[1]! : key;
    if (!Object.hasOwn(target, name)) Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ...top, properties };
}
