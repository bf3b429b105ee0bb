// Pure-function checks of the store helpers (kept beside the store tests they support).
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
