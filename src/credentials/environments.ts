/**
 * Which rules of a flag apply to a credential's requests (SPEC §4):
 *
 * | rule environments | credential environments | the rule applies |
 * |---|---|---|
 * | empty | empty | yes |
 * | empty | some | yes |
 * | some | empty | no |
 * | some | one of them matches | yes |
 * | some | none matches | no |
 *
 * Read as: a rule without environments is for everyone; a rule limited to
 * environments is only for credentials bound to one of them, so a credential
 * bound to no environment never sees environment-specific rules.
 */
export function ruleAppliesToEnvironments(ruleEnvironments: readonly string[], credentialEnvironments: readonly string[]): boolean {
  if (ruleEnvironments.length === 0) return true; // rows 1 and 2
  // Rows 3, 4 and 5: an empty credential list matches nothing. Lists are short (a
  // handful of environments), so a nested scan beats building a Set per call. An indexed
  // loop rather than `some` with a closure: this runs for every rule of every resolved flag,
  // and the closure would be allocated each time.
  for (let i = 0; i < credentialEnvironments.length; i++) if (ruleEnvironments.includes(credentialEnvironments[i]!)) return true;
  return false;
}
