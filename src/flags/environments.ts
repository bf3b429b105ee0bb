/**
 * SPEC §4: which rules apply to a credential, by environments. The rule
 * itself lives in one place, src/credentials/environments.ts; this module
 * adapts it to the callback `resolveFlag` takes, so evaluation does not
 * depend on how credentials are modelled.
 */
import { ruleAppliesToEnvironments } from '../credentials/environments.js';

export { ruleAppliesToEnvironments };

/** The SPEC §4 test for one credential, as the callback `resolveFlag` takes; built once per request. */
export function environmentFilter(credentialEnvironments: readonly string[]): (ruleEnvironments: readonly string[]) => boolean {
  return (ruleEnvironments) => ruleAppliesToEnvironments(ruleEnvironments, credentialEnvironments);
}
