import { formatUnleashVisiblePart, unleashScopeMatches } from '../../../src/credentials/index.js';

describe('Unleash visible part', () => {
  it('writes one project, * for all, [] for several, as Unleash does', () => {
    expect(formatUnleashVisiblePart(['default'], 'production')).toBe('default:production');
    expect(formatUnleashVisiblePart(['*'], 'development')).toBe('*:development');
    expect(formatUnleashVisiblePart(['default', 'mobile'], 'development')).toBe('[]:development');
  });

  it('matches the stored scope exactly', () => {
    const one = { projects: ['default'], environments: ['production'] };
    expect(unleashScopeMatches({ projects: 'default', environment: 'production' }, one)).toBe(true);
    expect(unleashScopeMatches({ projects: 'default', environment: 'staging' }, one)).toBe(false);
    expect(unleashScopeMatches({ projects: 'mobile', environment: 'production' }, one)).toBe(false);
    expect(unleashScopeMatches({ projects: '*', environment: 'production' }, one)).toBe(false);
    expect(unleashScopeMatches({ projects: [], environment: 'production' }, one)).toBe(false);

    expect(unleashScopeMatches({ projects: '*', environment: 'dev' }, { projects: ['*'], environments: ['dev'] })).toBe(true);
    expect(unleashScopeMatches({ projects: [], environment: 'dev' }, { projects: ['a', 'b'], environments: ['dev'] })).toBe(true);
    expect(unleashScopeMatches({ projects: [], environment: 'dev' }, { projects: ['a'], environments: ['dev'] })).toBe(false);
    // A stored scope an UNLEASH token cannot describe never matches.
    expect(unleashScopeMatches({ projects: 'a', environment: 'dev' }, { projects: ['a'], environments: ['dev', 'prod'] })).toBe(false);
    expect(unleashScopeMatches({ projects: [], environment: 'dev' }, { projects: [], environments: ['dev'] })).toBe(false);
  });
});
