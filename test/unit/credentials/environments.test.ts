import { ruleAppliesToEnvironments } from '../../../src/credentials/index.js';

/** SPEC §4, one test per row of the table. */
describe('ruleAppliesToEnvironments (SPEC §4)', () => {
  it('row 1: rule empty, credential empty → applies', () => {
    expect(ruleAppliesToEnvironments([], [])).toBe(true);
  });

  it('row 2: rule empty, credential some → applies', () => {
    expect(ruleAppliesToEnvironments([], ['production'])).toBe(true);
    expect(ruleAppliesToEnvironments([], ['staging', 'production'])).toBe(true);
  });

  it('row 3: rule some, credential empty → does not apply', () => {
    expect(ruleAppliesToEnvironments(['production'], [])).toBe(false);
  });

  it('row 4: rule some, one of the credential environments matches → applies', () => {
    expect(ruleAppliesToEnvironments(['production'], ['production'])).toBe(true);
    expect(ruleAppliesToEnvironments(['staging', 'production'], ['development', 'production'])).toBe(true);
  });

  it('row 5: rule some, none matches → does not apply', () => {
    expect(ruleAppliesToEnvironments(['production'], ['staging'])).toBe(false);
    expect(ruleAppliesToEnvironments(['staging', 'production'], ['development'])).toBe(false);
  });
});
