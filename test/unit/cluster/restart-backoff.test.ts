import { RestartBackoff } from '../../../src/cluster/restart-backoff.js';

describe('the wait before a dead worker is replaced', () => {
  it('is none for the first death after a calm spell, then doubles with each death close after the last, up to the ceiling', () => {
    const backoff = new RestartBackoff(100, 1_000, 60_000);
    const waits = [0, 10, 20, 30, 40, 50, 60].map((s) => backoff.next(s * 1_000));
    expect(waits).toEqual([0, 100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts over once a worker has lived longer than the calm spell', () => {
    const backoff = new RestartBackoff(100, 1_000, 60_000);
    expect([backoff.next(0), backoff.next(1_000), backoff.next(2_000)]).toEqual([0, 100, 200]);
    expect([backoff.next(62_001), backoff.next(63_000)]).toEqual([0, 100]);
  });
});
