import * as http from 'node:http';
import type { HttpCall, LoadResult } from '../load-result.js';
import { latencyPercentiles } from '../stats.js';

/**
 * Open-loop HTTP/1.1 load at a fixed rate, for tail latencies: request i is sent at start + i/rate
 * whether or not earlier ones have answered, so a server stall shows in every request it delays (a
 * closed-loop tool such as wrk stops sending during a stall and hides it: coordinated omission).
 * Requests wait for one of `connections` keep-alive sockets, and that wait counts. The driver wakes
 * every millisecond (a busy loop would take a core from the server) and sends what has come due;
 * latency counts from that send, so the driver's own timer slack is not charged to the server.
 * A request still unanswered 5 s after the last was sent counts as an error.
 */
export async function openLoopLoad(call: HttpCall, rate: number, seconds: number, connections: number): Promise<LoadResult & { rate: number; late: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies = new Float64Array(total);
  let answered = 0;
  let errors = 0;
  let sent = 0;
  /** Requests sent more than 5 ms after they were due (the driver itself fell behind). */
  let late = 0;
  const body = Buffer.from(call.body);
  const headers = { 'content-type': 'application/json', 'content-length': body.length, ...call.headers };
  const start = performance.now();
  let pending = 0;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((r) => (finish = r));
  const fire = () => {
    pending++;
    const sentAt = performance.now();
    const req = http.request({ host: '127.0.0.1', port: call.port, path: call.path, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies[answered++] = performance.now() - sentAt;
        else errors++;
        if (--pending === 0 && sent === total) finish();
      });
    });
    req.on('error', () => {
      errors++;
      if (--pending === 0 && sent === total) finish();
    });
    req.end(body);
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total) {
        const due = start + (sent * 1000) / rate;
        if (due > now) break;
        if (now - due > 5) late++;
        sent++;
        fire();
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // Give the last requests a few seconds, then count what is still out as lost.
  await Promise.race([allDone, new Promise((r) => setTimeout(r, 5000))]);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  errors = total - answered;
  return { requests: answered, errors, seconds: elapsed, rps: answered / elapsed, ...latencyPercentiles(latencies.subarray(0, answered)), tool: 'node open loop', rate, late };
}
