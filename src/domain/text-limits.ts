import type { FieldViolation } from './errors.js';

export const MAX_DISPLAY_NAME = 256;
export const MAX_DESCRIPTION = 2048;
const LABEL_KEY = /^[a-z][a-z0-9_.-]{0,62}$/;
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 256;

/** Bounds on the free-text fields every resource has, so nothing unbounded is stored. */
export function checkText(field: string, value: string, max: number): FieldViolation[] {
  return value.length > max ? [{ field, description: `must be at most ${max} characters` }] : [];
}

export function checkLabels(field: string, labels: Record<string, string>): FieldViolation[] {
  const out: FieldViolation[] = [];
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) out.push({ field, description: `at most ${MAX_LABELS} labels` });
  for (const k of keys) {
    if (!LABEL_KEY.test(k)) out.push({ field: `${field}[${JSON.stringify(k)}]`, description: 'keys must match [a-z][a-z0-9_.-]{0,62}' });
    if ((labels[k] ?? '').length > MAX_LABEL_VALUE) out.push({ field: `${field}[${JSON.stringify(k)}]`, description: `values must be at most ${MAX_LABEL_VALUE} characters` });
  }
  return out;
}
