/**
 * What Reflag's SDKs report, recorded as SDK events (the SdkEvents domain behind
 * EventService.PublishEvents; scope `logs:write`), one event per record:
 *
 * - `POST bulk`: an array of `user`, `company`, `event`, `feature-flag-event` (the SDKs' `check`
 *   and `check-config` events) and `prompt-event` records (Node SDK and browser SDK);
 * - `POST event` (a tracked event), `POST features/events` (a flag check),
 *   `POST feedback` and `POST feedback/prompt-events` (browser SDK): one record each.
 *
 * Each becomes a LOG event at level INFO, with the message `reflag <type> …` (the record's ids),
 * the record itself (with its `type`) as the attributes, and the SDK's `reflag-sdk-version` as
 * `sdk`; ListEvents reads them back. The call is validated like every runtime call (audit trail,
 * last use, rate limit), so a check also counts as use of the credential. A batch with a record
 * that is not an object, or that EventService would refuse (over 500 records, attributes over
 * 16 KiB or 64 keys), is refused whole with 400 and nothing is stored.
 *
 * `POST feedback/prompting-init` answers `{success: true}` without a channel: latchkey runs no
 * feedback surveys, so the browser SDK opens no survey stream. `POST flags/opt-in` is refused
 * (501, FAILED_PRECONDITION / OPT_IN_NOT_SUPPORTED): latchkey flags are decided by their rules,
 * not by per-user opt-ins.
 */
import type { CredentialValidator } from '../../client-credentials/validator.js';
import { DomainError } from '../../domain/errors.js';
import type { SdkEvents } from '../../events/events.js';
import type { EventInput, JsonMap } from '../../events/model.js';
import type { PlainRoute } from '../../server/plain-routes.js';
import { authenticateHttp, sendDomainError } from '../runtime-http.js';
import { BASE, EVALUATED, REPORTS, isObject, readJson, sdkOf, sendRefusal, sendSuccess } from './http.js';

const ID_CHARS = 200;
const clip = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, ID_CHARS) : undefined);

/** The message of one record: its type and the ids that tell records apart in a listing. */
export function messageOf(record: Record<string, unknown>): string {
  const type = clip(record.type) ?? 'record';
  const parts = ((): unknown[] => {
    switch (type) {
      case 'user':
        return [record.userId];
      case 'company':
        return [record.companyId];
      case 'event':
        return [record.event];
      case 'feature-flag-event':
        return [record.action, record.key];
      case 'feedback':
        return [record.key ?? record.featureId];
      case 'prompt-event':
        return [record.action, record.featureId];
      default:
        return [];
    }
  })();
  return ['reflag', type, ...parts.map(clip).filter((p): p is string => p !== undefined)].join(' ');
}

function inputOf(record: Record<string, unknown>, sdk: string): EventInput {
  return { kind: 'LOG', level: 'INFO', message: messageOf(record), attributes: record as JsonMap, eventTime: undefined, sdk };
}

export function reflagEventRoutes(validator: CredentialValidator, events: SdkEvents): PlainRoute[] {
  /** A route whose body is one record of `type` (or, for bulk, an array of typed records). */
  const recorded = (path: string, type: string | undefined): PlainRoute => ({
    method: 'POST',
    path: `${BASE}/${path}`,
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, REPORTS);
      if (!v) return;
      const body = await readJson(req, res, info);
      if (!body) return;
      let records: Record<string, unknown>[];
      if (type === undefined) {
        if (!Array.isArray(body.value)) return sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', 'the body of POST bulk must be a JSON array of records'));
        const bad = body.value.findIndex((r) => !isObject(r));
        if (bad >= 0) {
          return sendDomainError(
            res,
            info,
            new DomainError('invalid_argument', 'INVALID_ARGUMENT', `record [${bad}] is not a JSON object; nothing was stored`, { fieldViolations: [{ field: `[${bad}]`, description: 'must be a JSON object' }] }),
          );
        }
        records = body.value as Record<string, unknown>[];
      } else {
        if (!isObject(body.value)) return sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', `the body of POST ${path} must be a JSON object`));
        records = [{ ...body.value, type }];
      }
      if (records.length === 0) return sendSuccess(res);
      const sdk = sdkOf(req, url);
      try {
        await events.publish({ credential: v.principal.name, client: v.principal.client }, records.map((r) => inputOf(r, sdk)));
      } catch (err) {
        return sendRefusal(res, info, err);
      }
      sendSuccess(res);
    },
  });
  return [
    recorded('bulk', undefined),
    recorded('event', 'event'),
    recorded('features/events', 'feature-flag-event'),
    recorded('feedback', 'feedback'),
    recorded('feedback/prompt-events', 'prompt-event'),
    {
      method: 'POST',
      path: `${BASE}/feedback/prompting-init`,
      async handle(req, res, info, url) {
        const v = await authenticateHttp(validator, req, res, info, url, EVALUATED);
        if (!v) return;
        if (!(await readJson(req, res, info))) return;
        sendSuccess(res);
      },
    },
    {
      method: 'POST',
      path: `${BASE}/flags/opt-in`,
      async handle(req, res, info, url) {
        const v = await authenticateHttp(validator, req, res, info, url, EVALUATED);
        if (!v) return;
        if (!(await readJson(req, res, info))) return;
        sendDomainError(
          res,
          info,
          new DomainError(
            'failed_precondition',
            'OPT_IN_NOT_SUPPORTED',
            'latchkey has no per-user or per-company opt-in: a flag is decided by its rules. Add a rule for these users or companies with FlagAdminService.UpdateFlag instead',
            { httpStatus: 501 },
          ),
        );
      },
    },
  ];
}
