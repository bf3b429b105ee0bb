import { MonotonicIds } from '../../../src/domain/monotonic-ids.js';

/** The time part of an id (its 13 digits after the prefix). */
const timeOf = (id: string, prefix = 'e') => Number(id.slice(prefix.length, prefix.length + 13));

describe('MonotonicIds', () => {
  test('has the documented shape and a valid resource id', () => {
    const id = new MonotonicIds('e').next(new Date('2026-11-23T09:00:00.000Z'));
    expect(id).toMatch(/^e\d{13}[0-9a-hjkmnp-tv-z]{10}$/);
    expect(id).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
    expect(new Date(timeOf(id)).toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(new MonotonicIds('ev').next(new Date(5))).toMatch(/^ev0000000000005/);
  });

  test('sorts by time, keeps the order of one millisecond, and does not repeat', () => {
    const ids = new MonotonicIds();
    const made = Array.from({ length: 2000 }, (_, i) => ids.next(new Date(1_700_000_000_000 + Math.floor(i / 10))));
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
    const times = made.map((id) => timeOf(id));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test('refuses bad input', () => {
    expect(() => new MonotonicIds().next(new Date(NaN))).toThrow(RangeError);
    expect(() => new MonotonicIds().next(new Date(-1))).toThrow(RangeError);
    expect(() => new MonotonicIds('1x')).toThrow(RangeError);
  });
});
