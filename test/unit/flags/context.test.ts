import { attributePathProblem, parseAttributePath, readAttribute } from '../../../src/flags/context.js';

describe('attribute paths', () => {
  it.each(['targeting_key', 'user.country', 'a.b.c', 'app-version', 'X_1', '0'])('accepts %j', (path) => {
    expect(attributePathProblem(path)).toBeUndefined();
  });

  it.each(['', '.', 'a.', '.a', 'a..b', 'user country', 'a/b', 'é', 'a.b.c.d.e.f.g.h.i.j.k', 'x'.repeat(65)])('refuses %j', (path) => {
    expect(attributePathProblem(path)).toEqual(expect.any(String));
    expect(() => parseAttributePath(path)).toThrow();
  });
});

describe('readAttribute', () => {
  const ctx = JSON.parse(
    '{"targeting_key":"u1","user":{"country":"SE","age":30,"tags":["a","b"],"nil":null,"deep":{"x":1}},"__proto__":{"polluted":true},"list":[{"a":1}]}',
  );
  const read = (path: string): unknown => readAttribute(ctx, parseAttributePath(path));

  it('reads top-level and nested values', () => {
    expect(read('targeting_key')).toBe('u1');
    expect(read('user.country')).toBe('SE');
    expect(read('user.deep.x')).toBe(1);
    expect(read('user.tags')).toEqual(['a', 'b']);
    expect(read('user')).toEqual(expect.objectContaining({ country: 'SE' }));
  });

  it('tells null (present) from missing', () => {
    expect(read('user.nil')).toBeNull();
    expect(read('user.missing')).toBeUndefined();
    expect(read('nobody.country')).toBeUndefined();
  });

  it('does not walk through scalars, nulls or arrays', () => {
    expect(read('targeting_key.length')).toBeUndefined();
    expect(read('user.nil.x')).toBeUndefined();
    expect(read('user.tags.0')).toBeUndefined();
    expect(read('list.0.a')).toBeUndefined();
  });

  it('never reaches Object.prototype: inherited names are missing keys', () => {
    expect(read('constructor')).toBeUndefined();
    expect(read('toString')).toBeUndefined();
    expect(read('user.constructor')).toBeUndefined();
    expect(read('user.hasOwnProperty')).toBeUndefined();
    expect(read('constructor.prototype')).toBeUndefined();
    expect(readAttribute({}, parseAttributePath('__proto__'))).toBeUndefined();
    expect(readAttribute({}, parseAttributePath('__proto__.polluted'))).toBeUndefined();
  });

  it('reads an own "__proto__" key of a JSON-parsed context as plain data', () => {
    expect(read('__proto__.polluted')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('treats a non-object context as having no attributes', () => {
    for (const c of [null, undefined, 'x', 42, true, ['targeting_key']]) {
      expect(readAttribute(c, parseAttributePath('targeting_key'))).toBeUndefined();
    }
  });
});
