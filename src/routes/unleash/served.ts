/**
 * What a latchkey variant is in Unleash's terms, decided in one place so that the frontend API
 * (latchkey evaluates) and the client API (the SDK evaluates translated strategies) answer alike.
 *
 * Unleash answers `isEnabled` (a boolean) and `getVariant` (`{name, enabled, payload?}`):
 * - a BOOLEAN flag is enabled when its value is `true`; the variant is the latchkey variant's name,
 *   with no payload. Its value `false` is "disabled", as is every resolution without a value
 *   (no rule matched and no default, a missing randomization unit, an archived flag, an error);
 * - a STRING, NUMBER or OBJECT flag is enabled whenever it serves a value (a rule matched or the
 *   default variant was served); the variant carries the value as its payload:
 *   `{type: "string", value}`, `{type: "number", value: "25.5"}`, `{type: "json", value: "{…}"}`.
 *
 * The kind follows from the value (every variant of a flag has its kind's type).
 */
import type { JsonValue } from '../../flags/model.js';

export interface UnleashPayload {
  type: 'string' | 'number' | 'json';
  value: string;
}

export type Served = { enabled: false } | { enabled: true; variant: string; payload?: UnleashPayload };

export const DISABLED: Served = Object.freeze({ enabled: false });

/** The Unleash answer for a latchkey variant `name` serving `value`. */
export function servedOf(name: string, value: JsonValue): Served {
  if (typeof value === 'boolean') return value ? { enabled: true, variant: name } : DISABLED;
  if (typeof value === 'string') return { enabled: true, variant: name, payload: { type: 'string', value } };
  if (typeof value === 'number') return { enabled: true, variant: name, payload: { type: 'number', value: String(value) } };
  return { enabled: true, variant: name, payload: { type: 'json', value: JSON.stringify(value) } };
}

/** A key equal for two served answers exactly when an Unleash SDK could not tell them apart. */
export function servedKey(s: Served): string {
  return s.enabled ? JSON.stringify([s.variant, s.payload ?? null]) : 'disabled';
}
