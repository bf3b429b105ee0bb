/**
 * Regular expressions for the MATCHES operator, bounded so that one rule can never stall the
 * resolver (a regex runs on the event loop: a catastrophic one would stop every request of every
 * tenant on this replica, not just the one flag).
 *
 * Length limits alone do not do that: `(a+)+b` is 6 characters and already takes seconds on a
 * 30-character input. So there are three layers:
 *
 * 1. Bounds: a pattern is at most 256 characters, and an attribute longer than 1024 characters does
 *    not match (the condition is false; it is never truncated, which could turn a non-match into a
 *    match). These bound the work of every match, whatever engine runs it.
 * 2. V8's linear-time fallback: `compileMatchRegex` turns on
 *    `--enable-experimental-regexp-engine-on-excessive-backtracks` (once, process-wide). A regex that
 *    backtracks too much (V8's default: 50 000 backtracks) is then re-run by V8's automaton-based
 *    engine, which takes time linear in the input and gives the same answer. The flag changes nothing
 *    else: well-behaved regexes (everywhere in the process) run exactly as before.
 * 3. Eligibility: V8 can only fall back for patterns its linear engine handles. Validation refuses
 *    every pattern it could not (as of Node 20 / V8 11): backreferences, lookahead and lookbehind,
 *    a counted repetition over 16 (`{17}`, `{1,20}`), and repetitions nested so deeply that their
 *    counts multiply past 16 (`(a{1,9})+`). Patterns are compiled with no flags: the `u` flag would
 *    also make them ineligible. So `.` and classes match UTF-16 code units, as in most JS code.
 *
 * test/unit/flags/regex.test.ts runs pathological patterns in a fresh Node process to prove that
 * layer 2 still works on the Node version in use.
 */
import { setFlagsFromString } from 'node:v8';

/** Longest pattern accepted for MATCHES. */
export const MAX_REGEX_PATTERN_LENGTH = 256;
/** Longest attribute value MATCHES tests; a longer value does not match. */
export const MAX_REGEX_INPUT_LENGTH = 1024;
/** V8's linear engine replicates bounded repetitions; it gives up past this factor. */
const MAX_REPLICATION = 16;

let fallbackEnabled = false;

/**
 * Lets V8 re-run a regex that backtracks excessively on its linear-time engine. Process-wide and
 * idempotent; it must run before the regexes it should protect first run (V8 reads the flag when it
 * compiles a pattern, lazily, on first use), which `compileMatchRegex` guarantees for MATCHES.
 */
export function enableRegexBacktrackingFallback(): void {
  if (fallbackEnabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  fallbackEnabled = true;
}

/** Why `pattern` cannot be used by MATCHES, or undefined when it can. */
export function regexPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'the regular expression must not be empty';
  if (pattern.length > MAX_REGEX_PATTERN_LENGTH) {
    return `the regular expression must be at most ${MAX_REGEX_PATTERN_LENGTH} characters`;
  }
  try {
    new RegExp(pattern);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  return linearEligibilityProblem(pattern);
}

/** A compiled MATCHES pattern; throws with the problem when the pattern is refused. */
export function compileMatchRegex(pattern: string): RegExp {
  const problem = regexPatternProblem(pattern);
  if (problem !== undefined) throw new Error(problem);
  enableRegexBacktrackingFallback();
  // No flags: neither `g` nor `y` (so `test` keeps no lastIndex state between requests) nor `u`.
  return new RegExp(pattern);
}

/** Whether `input` matches; false for inputs over MAX_REGEX_INPUT_LENGTH. */
export function regexMatches(regex: RegExp, input: string): boolean {
  return input.length <= MAX_REGEX_INPUT_LENGTH && regex.test(input);
}

interface Frame {
  /** The largest replication factor inside this group so far (1 = no repetition). */
  inner: number;
}

const COUNTED = /^\{(\d+)(,(\d*))?\}/;

/**
 * Walks a pattern that already compiles and reports the first construct V8's linear engine cannot
 * run. A small scanner rather than a parser: it only needs groups, classes, escapes and quantifiers.
 */
function linearEligibilityProblem(p: string): string | undefined {
  const stack: Frame[] = [{ inner: 1 }];
  const top = (): Frame => stack[stack.length - 1]!;
  /** Replication factor inside the atom just read, or undefined when no atom precedes. */
  let last: number | undefined;
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const next = p[i + 1] ?? '';
      if (next >= '1' && next <= '9') return 'backreferences (\\1 …) are not allowed';
      if (next === 'k') return 'named backreferences (\\k<…>) are not allowed';
      i += 2;
      last = 1;
      continue;
    }
    if (c === '[') {
      i++;
      if (p[i] === '^') i++;
      while (i < p.length && p[i] !== ']') i += p[i] === '\\' ? 2 : 1;
      i++;
      last = 1;
      continue;
    }
    if (c === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(p.slice(i, i + 4))) return 'lookahead and lookbehind are not allowed';
      if (p.startsWith('(?:', i)) i += 3;
      else if (p.startsWith('(?<', i)) i = p.indexOf('>', i) + 1;
      else i += 1;
      stack.push({ inner: 1 });
      last = undefined;
      continue;
    }
    if (c === ')') {
      const group = stack.length > 1 ? stack.pop()! : { inner: 1 };
      top().inner = Math.max(top().inner, group.inner);
      last = group.inner;
      i++;
      continue;
    }
    const q = quantifierAt(p, i);
    if (q !== undefined) {
      if (q.min > MAX_REPLICATION || (q.max !== Infinity && q.max > MAX_REPLICATION)) {
        return `counted repetitions may not exceed ${MAX_REPLICATION} (use * or + for longer runs)`;
      }
      // As V8 counts it: a bounded repetition copies its body `max` times, an unbounded one
      // `min + 1` times; nested repetitions multiply.
      const local = q.max === Infinity ? q.min + 1 : q.max;
      const total = local * (last ?? 1);
      if (total > MAX_REPLICATION) return 'repetitions are nested too deeply (e.g. (a{1,9})+); simplify the pattern';
      top().inner = Math.max(top().inner, total);
      i += q.length;
      if (p[i] === '?') i++; // lazy
      last = undefined;
      continue;
    }
    // `|`, `^`, `$`, `.` and ordinary characters.
    last = c === '|' || c === '^' || c === '$' ? undefined : 1;
    i++;
  }
  return undefined;
}

function quantifierAt(p: string, i: number): { min: number; max: number; length: number } | undefined {
  const c = p[i];
  if (c === '*') return { min: 0, max: Infinity, length: 1 };
  if (c === '+') return { min: 1, max: Infinity, length: 1 };
  if (c === '?') return { min: 0, max: 1, length: 1 };
  if (c !== '{') return undefined;
  // Outside `u` mode a `{` that does not start a well-formed quantifier is a literal.
  const m = COUNTED.exec(p.slice(i, i + 40));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
  return { min, max, length: m[0].length };
}
