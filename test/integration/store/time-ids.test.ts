// Pure-function checks of the store helpers (kept beside the store tests they support).
import { newSortableId, sortableIdTime } from '../../../src/store/ids.js';
import { fromDbTime, toDbTime } from '../../../src/store/time.js';

describe('toDbTime / fromDbTime', () => {
  test('round-trips with fixed width and milliseconds', () => {
    const d = new Date('2026-11-23T09:00:00Z');
    expect(toDbTime(d)).toBe('2026-11-23T09:00:00.000Z');
    expect(fromDbTime('2026-11-23T09:00:00.000Z').getTime()).toBe(d.getTime());
    expect(toDbTime(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });

  test('string order is time order', () => {
    const times = [0, 1, 999, 1000, 86_400_000, 1_795_424_400_000, 253_402_300_799_999].map((ms) => toDbTime(new Date(ms)));
    expect([...times].sort()).toEqual(times);
    for (const t of times) expect(t).toHaveLength(24);
  });

  test('refuses what it cannot store or did not write', () => {
    expect(() => toDbTime(new Date(NaN))).toThrow(RangeError);
    expect(() => toDbTime(new Date('+010000-01-01T00:00:00Z'))).toThrow(RangeError);
    for (const bad of ['2026-11-23', '2026-11-23T09:00:00Z', '2026-02-30T00:00:00.000Z', '2026-11-23 09:00:00.000Z', '']) {
      expect(() => fromDbTime(bad)).toThrow(RangeError);
    }
  });
});

describe('newSortableId', () => {
  test('has the documented shape and a valid resource id', () => {
    const id = newSortableId(new Date('2026-11-23T09:00:00.000Z'));
    expect(id).toMatch(/^e\d{13}[0-9a-hjkmnp-tv-z]{10}$/);
    expect(id).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
    expect(sortableIdTime(id)?.toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(newSortableId(new Date(5), 'ev')).toMatch(/^ev0000000000005/);
  });

  test('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newSortableId(new Date(1_700_000_000_000 + Math.floor(i / 10))));
    expect(new Set(ids).size).toBe(ids.length);
    const times = [...ids].sort().map((id) => sortableIdTime(id)!.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test('refuses bad input', () => {
    expect(() => newSortableId(new Date(NaN))).toThrow(RangeError);
    expect(() => newSortableId(new Date(-1))).toThrow(RangeError);
    expect(() => newSortableId(new Date(0), '1x')).toThrow(RangeError);
    expect(sortableIdTime('not-an-id')).toBeNull();
  });
});
