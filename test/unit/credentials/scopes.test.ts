import { ADMIN_SCOPE, ALL_SCOPES, hasScope, RUNTIME_SCOPES, validateScopes } from '../../../src/credentials/index.js';
import { effectiveScopes } from '../../../src/credentials/scopes.js';

describe('runtime scopes', () => {
  it('are flags:read, configs:read, logs:write, and admin', () => {
    expect(RUNTIME_SCOPES).toEqual(['flags:read', 'configs:read', 'logs:write']);
    expect(ALL_SCOPES).toEqual(['flags:read', 'configs:read', 'logs:write', 'admin']);
    expect(ADMIN_SCOPE).toBe('admin');
  });

  it('hasScope: a scope is held when granted, and admin holds every runtime scope', () => {
    expect(hasScope(['flags:read'], 'flags:read')).toBe(true);
    expect(hasScope(['flags:read'], 'configs:read')).toBe(false);
    expect(hasScope([], 'logs:write')).toBe(false);
    for (const s of ALL_SCOPES) expect(hasScope(['admin'], s)).toBe(true);
    expect(hasScope(['flags:read', 'configs:read', 'logs:write'], 'admin')).toBe(false);
    expect(effectiveScopes(['admin'])).toEqual(['flags:read', 'configs:read', 'logs:write']);
    expect(effectiveScopes(['logs:write', 'bogus'])).toEqual(['logs:write']);
  });

  it('validateScopes: admin is for SECRET credentials only; unknown and empty lists are refused', () => {
    expect(validateScopes(['flags:read', 'admin'], 'SECRET')).toEqual([]);
    expect(validateScopes(['flags:read', 'configs:read', 'logs:write'], 'PUBLISHABLE')).toEqual([]);
    expect(validateScopes(['flags:read', 'admin'], 'PUBLISHABLE')).toEqual([{ index: 1, description: 'admin is for SECRET credentials only' }]);
    expect(validateScopes(['flags:write'], 'SECRET')).toEqual([
      { index: 0, description: 'unknown scope "flags:write"; the scopes are flags:read, configs:read, logs:write, admin' },
    ]);
    expect(validateScopes([], 'SECRET')).toEqual([{ description: 'required: any of flags:read, configs:read, logs:write, admin' }]);
  });
});
