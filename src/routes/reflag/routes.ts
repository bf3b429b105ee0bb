/**
 * The Reflag compatibility routes (SPEC §6), under `/reflag/` (the SDKs' `apiBaseUrl`), so that
 * applications on `@reflag/node-sdk` and `@reflag/browser-sdk` keep their SDKs and only change
 * `apiBaseUrl` (and `flagsPushUrl`) and their keys (`sec_<env>_…` / `pub_<env>_…`):
 *
 * - `GET features` (SECRET): the credential's flags in Reflag's filter model (definitions.ts),
 *   rules of its environments only, with `flagStateVersion` (versions.ts); `waitForVersion=N`
 *   answers once this replica has N. Flags that cannot be translated exactly are left out and
 *   named in `X-Latchkey-Untranslated-Flags`.
 * - `GET features/evaluated` (either class): every flag the credential may see (or `key=…`),
 *   evaluated by latchkey for the `context.*` query parameters (context.ts, evaluated.ts).
 * - `POST bulk`, `event`, `features/events`, `feedback` (scope logs:write): recorded (events.ts).
 * - `GET sse/server` (SECRET) and `GET sse/client`: `flags-updated` pushes (sse.ts).
 *
 * Every route authenticates through the credential pipeline of SPEC §3 (audit, last use, rate
 * limit, origins, addresses); publishable keys never see definitions or secret flags. OBJECT flags
 * (remote configs) are served only to credentials with `configs:read`. latchkey evaluates with
 * FlagResolver, the same resolution as every other protocol: this module only translates.
 */
import type { CredentialValidator } from '../../client-credentials/validator.js';
import { ruleAppliesToEnvironments } from '../../credentials/environments.js';
import { hasScope } from '../../credentials/scopes.js';
import type { CompiledFlag } from '../../flags/compile.js';
import type { SdkEvents } from '../../events/events.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import { sendJsonWithEtag } from '../../server/etag.js';
import type { PlainRoute } from '../../server/plain-routes.js';
import { authenticateHttp } from '../runtime-http.js';
import { evaluationContextOfQuery } from './context.js';
import { translateFlag, type ReflagFlagDefinition, type Translation } from './definitions.js';
import { evaluatedFlag, type ReflagEvaluatedFlag } from './evaluated.js';
import { reflagEventRoutes } from './events.js';
import { BASE, DEFINITIONS, EVALUATED, sendRefusal } from './http.js';
import { ReflagUpdates, type UpdatesCatalog } from './sse.js';
import { parseWaitForVersion, waitForVersion, type VersionedCatalog } from './versions.js';
import { FlagViews } from './views.js';

export const UNTRANSLATED_HEADER = 'x-latchkey-untranslated-flags';
/** Names listed in X-Latchkey-Untranslated-Flags before it says how many more there are. */
const MAX_NAMED_UNTRANSLATED = 50;
const NO_CACHE = { 'cache-control': 'no-cache' };

export interface ReflagDeps {
  validator: CredentialValidator;
  resolver: FlagResolver;
  catalog: VersionedCatalog & UpdatesCatalog & { flag(id: string): CompiledFlag | undefined };
  events: SdkEvents;
}

export interface ReflagCompat {
  routes: PlainRoute[];
  /** Live update streams, for the shutdown (`close()` ends them before the server drains). */
  updates: ReflagUpdates;
}

export function reflagRoutes({ validator, resolver, catalog, events }: ReflagDeps): ReflagCompat {
  const translations = new FlagViews<Translation>(translateFlag);
  const updates = new ReflagUpdates(catalog, (principal, def) => resolver.visible(principal, def));

  const features: PlainRoute = {
    method: 'GET',
    path: `${BASE}/features`,
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, DEFINITIONS);
      if (!v) return;
      try {
        await waitForVersion(catalog, parseWaitForVersion(url.searchParams));
      } catch (err) {
        return sendRefusal(res, info, err);
      }
      const principal = v.principal;
      const configs = hasScope(principal.scopes, 'configs:read');
      // Read together, with no await between: the version names exactly these definitions.
      const flagStateVersion = catalog.flagStateVersion;
      const out: ReflagFlagDefinition[] = [];
      const untranslated: string[] = [];
      for (const def of resolver.definitions(principal)) {
        if (def.kind === 'OBJECT' && !configs) continue;
        const t = translations.get(def, principal.environments);
        if (t.outcome === 'translated') out.push(t.definition);
        else if (t.outcome === 'untranslatable') untranslated.push(def.id);
      }
      const headers: Record<string, string> = { ...NO_CACHE };
      if (untranslated.length > 0) {
        const named = untranslated.slice(0, MAX_NAMED_UNTRANSLATED).join(', ');
        headers[UNTRANSLATED_HEADER] = untranslated.length > MAX_NAMED_UNTRANSLATED ? `${named} (and ${untranslated.length - MAX_NAMED_UNTRANSLATED} more)` : named;
      }
      sendJsonWithEtag(req, res, 200, { success: true, flagStateVersion, features: out }, headers);
    },
  };

  const evaluated: PlainRoute = {
    method: 'GET',
    path: `${BASE}/features/evaluated`,
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, EVALUATED);
      if (!v) return;
      const principal = v.principal;
      let result;
      const context = evaluationContextOfQuery(url.searchParams);
      const key = url.searchParams.get('key');
      try {
        await waitForVersion(catalog, parseWaitForVersion(url.searchParams));
        const flagStateVersion = catalog.flagStateVersion;
        const mode = hasScope(principal.scopes, 'configs:read') ? 'all' : 'flags';
        result = { flagStateVersion, resolved: resolver.resolve(principal, key === null ? [] : [`flags/${key}`], context, mode).resolved };
      } catch (err) {
        return sendRefusal(res, info, err);
      }
      // The same catalog state as the resolve above (no await between).
      const environments = principal.environments;
      const out: Record<string, ReflagEvaluatedFlag> = {};
      for (const r of result.resolved) {
        const id = r.flag.slice('flags/'.length);
        const def = catalog.flag(id)?.definition;
        if (!def) continue;
        const view = translations.get(def, environments, () => ({ ...def, rules: def.rules.filter((rule) => ruleAppliesToEnvironments(rule.environments, environments)) })).view;
        const flag = evaluatedFlag(view, r, context);
        // defineProperty: a flag id is never `__proto__`, but the map stays a plain data object whatever it holds.
        if (flag) Object.defineProperty(out, id, { value: flag, enumerable: true, writable: true, configurable: true });
      }
      sendJsonWithEtag(req, res, 200, { success: true, remoteContextUsed: false, flagStateVersion: result.flagStateVersion, features: out }, NO_CACHE);
    },
  };

  const stream = (path: string, requirement: typeof DEFINITIONS | typeof EVALUATED): PlainRoute => ({
    method: 'GET',
    path: `${BASE}/${path}`,
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, requirement);
      if (!v) return;
      updates.open(res, info, v.principal);
    },
  });

  return {
    routes: [features, evaluated, stream('sse/server', DEFINITIONS), stream('sse/client', EVALUATED), ...reflagEventRoutes(validator, events)],
    updates,
  };
}
