import { readFileSync } from 'node:fs';

/** CPU time a process has used so far, in µs: all its threads, and its main (serving) thread alone. */
export interface CpuTime {
  processUs: number;
  mainThreadUs: number;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ), 100 on Linux everywhere. */
const USER_HZ = 100;

/**
 * Reads a process's CPU time from /proc (Linux only; undefined elsewhere or once the process is
 * gone). The main thread is what limits a Node server's throughput; the whole process adds the
 * audit writer thread and V8's helper threads, which compete for the same cores.
 */
export function cpuTimeOf(pid: number): CpuTime | undefined {
  try {
    return { processUs: ticksOf(`/proc/${pid}/stat`), mainThreadUs: ticksOf(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

/** utime + stime of a /proc stat line, in µs. Fields are counted after the `(comm)`, which may hold spaces. */
function ticksOf(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
}
