import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { MAX_REGEX_INPUT_LENGTH, compileMatchRegex, regexMatches, regexPatternProblem } from '../../../src/flags/regex.js';

describe('MATCHES patterns', () => {
  it.each([
    '^[a-z]+@example\\.com$',
    '^(iPhone|iPad)',
    '\\d{1,16}',
    '^(\\d{1,3}\\.){3}\\d{1,3}$',
    '(?:ab)+c',
    '(?<name>x)y',
    '[(]\\)',
    'a{', // a literal `{` outside `u` mode
    '.*foo.*bar',
    '(a+)+b', // catastrophic for backtracking, but handled by V8's linear fallback (see below)
    '(a{1,8})+b',
  ])('accepts %j', (pattern) => {
    expect(regexPatternProblem(pattern)).toBeUndefined();
    expect(() => compileMatchRegex(pattern)).not.toThrow();
  });

  it.each([
    ['', 'must not be empty'],
    ['a'.repeat(257), 'at most 256 characters'],
    ['(', 'not a valid regular expression'],
    ['[a-', 'not a valid regular expression'],
    ['*a', 'not a valid regular expression'],
    ['(a)\\1', 'backreferences'],
    ['(?<n>a)\\k<n>', 'named backreferences'],
    ['a(?=b)', 'lookahead and lookbehind'],
    ['a(?!b)', 'lookahead and lookbehind'],
    ['(?<=a)b', 'lookahead and lookbehind'],
    ['(?<!a)b', 'lookahead and lookbehind'],
    ['\\d{1,17}', 'counted repetitions may not exceed 16'],
    ['x{20}', 'counted repetitions may not exceed 16'],
    ['(a{1,9})+', 'nested too deeply'],
    ['((a{1,4}){1,4})+', 'nested too deeply'],
  ])('refuses %j (%s)', (pattern, message) => {
    expect(regexPatternProblem(pattern)).toContain(message);
    expect(() => compileMatchRegex(pattern)).toThrow(message);
  });

  it('allows exactly 256 characters', () => {
    expect(regexPatternProblem('a'.repeat(256))).toBeUndefined();
  });

  it(`does not match inputs over ${MAX_REGEX_INPUT_LENGTH} characters, and keeps no state between calls`, () => {
    const re = compileMatchRegex('a');
    expect(regexMatches(re, 'a'.repeat(MAX_REGEX_INPUT_LENGTH))).toBe(true);
    expect(regexMatches(re, 'a'.repeat(MAX_REGEX_INPUT_LENGTH + 1))).toBe(false);
    expect([1, 2, 3].map(() => regexMatches(re, 'xa'))).toEqual([true, true, true]);
  });

  it('runs catastrophic-backtracking patterns in linear time (fresh Node process, so a hang cannot stall Jest)', () => {
    // Each of these takes from seconds to forever on a backtracking engine with a 1024-character input.
    const script = `
      const { compileMatchRegex, regexMatches } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/flags/regex.ts'))});
      const cases = [
        ['(a+)+b', 'a'.repeat(1024)],
        ['(a|a)*b', 'a'.repeat(1024)],
        ['a*a*a*a*a*a*b', 'a'.repeat(1024)],
        ['^(\\\\w+\\\\s?)+$', 'a'.repeat(1023) + '!'],
        ['(x+x+)+y', 'x'.repeat(1024)],
        ['(a|aa){1,16}b', 'a'.repeat(1024)],
        ['(a{1,8})+b', 'a'.repeat(1024)],
      ];
      const out = cases.map(([p, s]) => {
        const re = compileMatchRegex(p);
        const t = process.hrtime.bigint();
        const matched = regexMatches(re, s);
        return { p, matched, ms: Number(process.hrtime.bigint() - t) / 1e6 };
      });
      process.stdout.write(JSON.stringify(out));
    `;
    const tsx = path.resolve(__dirname, '../../../node_modules/tsx/dist/cli.mjs');
    const child = spawnSync(process.execPath, [tsx, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.error).toBeUndefined();
    expect(child.stderr).toBe('');
    const results = JSON.parse(child.stdout) as { p: string; matched: boolean; ms: number }[];
    expect(results).toHaveLength(7);
    for (const r of results) {
      expect(r.matched).toBe(false);
      expect(r.ms).toBeLessThan(1000);
    }
  });
});
