import { hasScope } from '../credentials/scopes.js';
import { DomainError } from '../domain/errors.js';
import type { JsonValue } from '../flags/model.js';
import type { FlagResolver } from '../resolver/flag-resolver.js';
import type { ResolvedFlag } from '../resolver/model.js';
import type { CredentialValidator } from '../client-credentials/validator.js';
import { sendJson, type HttpRequest, type HttpResponse } from '../server/http-util.js';
import type { PlainRoute } from '../server/plain-routes.js';
import type { RequestInfo } from '../server/request-info.js';
import { authenticateHttp, readJsonObject, sendDomainError } from './runtime-http.js';


/** Confidence's reasons; it has no DEFAULT (a served default variant is a match) nor TYPE_MISMATCH. */
const REASON: Record<ResolvedFlag['reason'], string> = {
  MATCH: 'RESOLVE_REASON_MATCH',
  DEFAULT: 'RESOLVE_REASON_MATCH',
  NO_RULE_MATCH: 'RESOLVE_REASON_NO_SEGMENT_MATCH',
  FLAG_ARCHIVED: 'RESOLVE_REASON_FLAG_ARCHIVED',
  FLAG_NOT_FOUND: 'RESOLVE_REASON_ERROR',
  TARGETING_KEY_ERROR: 'RESOLVE_REASON_TARGETING_KEY_ERROR',
  TYPE_MISMATCH: 'RESOLVE_REASON_ERROR',
  ERROR: 'RESOLVE_REASON_ERROR',
};

/**
 * Confidence values are always structs. OBJECT flags are served as they are;
 * a BOOLEAN, STRING or NUMBER flag is served as `{ "value": <scalar> }`, so an
 * SDK reads it as `<flag>.value`.
 */
function confidenceValue(value: JsonValue | undefined): { value: Record<string, JsonValue> | null; schema: Record<string, unknown> } {
  if (value === undefined || value === null) return { value: null, schema: {} };
  if (typeof value === 'object' && !Array.isArray(value)) return { value, schema: schemaOf(value) };
  return { value: { value }, schema: schemaOf({ value }) };
}

function schemaOf(obj: Record<string, JsonValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'boolean') out[k] = { boolSchema: {} };
    else if (typeof v === 'number') out[k] = Number.isInteger(v) ? { intSchema: {} } : { doubleSchema: {} };
    else if (typeof v === 'string') out[k] = { stringSchema: {} };
    else if (Array.isArray(v)) out[k] = { listSchema: {} };
    else if (v && typeof v === 'object') out[k] = { structSchema: { schema: schemaOf(v) } };
  }
  return out;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `POST /v1/flags:resolve` and `POST /v1/flags:apply` in the JSON the
 * Confidence resolver takes and answers (camelCase, `clientSecret` in the
 * body), so an application using a Confidence SDK can point its resolve base
 * URL at latchkey.
 */
export function confidenceRoutes(validator: CredentialValidator, resolver: FlagResolver): PlainRoute[] {
  return [
    {
      method: 'POST',
      path: '/v1/flags:resolve',
      async handle(req, res, info, url) {
        const body = await readJsonObject(req, res, info);
        if (!body) return;
        const v = await authenticateHttp(validator, req, res, info, url, { scope: 'flags:read', secretOnly: false }, str(body.clientSecret));
        if (!v) return;
        const flags = body.flags ?? [];
        const context = body.evaluationContext ?? {};
        if (!Array.isArray(flags) || !flags.every((f) => typeof f === 'string')) {
          return sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', 'flags must be a list of flag names (flags/<name>)'));
        }
        if (!context || typeof context !== 'object' || Array.isArray(context)) {
          return sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', 'evaluationContext must be a JSON object'));
        }
        const mode = hasScope(v.principal.scopes, 'configs:read') ? 'all' : 'flags';
        try {
          const result = await resolver.resolveYielding(v.principal, flags as string[], context as Record<string, JsonValue>, mode);
          // Confidence SDKs that resolve with apply=true may still call /v1/flags:apply: one exposure either way.
          if (body.apply === true) await resolver.applyResolved(result);
          sendJson(res, 200, {
            // Confidence leaves unknown flags out; its SDKs then report FLAG_NOT_FOUND themselves.
            resolvedFlags: result.resolved
              .filter((r) => r.reason !== 'FLAG_NOT_FOUND')
              .map((r) => {
                const { value, schema } = confidenceValue(r.value);
                return {
                  flag: r.flag,
                  variant: r.variant ? `${r.flag}/variants/${r.variant}` : '',
                  value,
                  flagSchema: { schema },
                  reason: REASON[r.reason],
                };
              }),
            resolveToken: result.resolveToken,
            resolveId: result.resolveId,
          });
        } catch (err) {
          if (err instanceof DomainError) return sendDomainError(res, info, err);
          throw err;
        }
      },
    },
    {
      method: 'POST',
      path: '/v1/flags:apply',
      async handle(req, res, info, url) {
        const body = await readJsonObject(req, res, info);
        if (!body) return;
        const v = await authenticateHttp(validator, req, res, info, url, { scope: 'flags:read', secretOnly: false }, str(body.clientSecret));
        if (!v) return;
        const flags = Array.isArray(body.flags) ? body.flags : [];
        try {
          // Idempotent, as Confidence SDKs expect: re-applying answers 200 {} and records nothing new.
          await resolver.apply(
            v.principal,
            str(body.resolveToken) ?? str(body.resolve_token) ?? '',
            flags.map((f) => {
              const o = (f && typeof f === 'object' ? f : {}) as { flag?: unknown; applyTime?: unknown };
              const t = typeof o.applyTime === 'string' ? new Date(o.applyTime) : undefined;
              return { flag: typeof o.flag === 'string' ? o.flag : '', applyTime: t && !Number.isNaN(t.getTime()) ? t : undefined };
            }),
          );
          sendJson(res, 200, {});
        } catch (err) {
          if (err instanceof DomainError) return sendDomainError(res, info, err);
          throw err;
        }
      },
    },
  ];
}
