import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a server has used so far, in µs: `processUs` is every thread of the server process and of
 * every process below it (cluster workers), `mainThreadUs` the main threads of those processes alone,
 * `processes` how many processes the tree holds.
 */
export interface CpuTime {
  processUs: number;
  mainThreadUs: number;
  processes: number;
  /** Each process's own CPU (all its threads), µs, by pid: where a tree of workers spends it. */
  byProcess: Record<number, number>;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ), 100 on Linux everywhere. */
const USER_HZ = 100;

/**
 * Reads a server's CPU time from /proc (Linux only; undefined elsewhere or once the process is
 * gone). The main thread is what limits a Node server's throughput; the whole process adds the
 * audit writer thread and V8's helper threads, which compete for the same cores. A server with
 * workers is a tree of processes: all of them count.
 */
export function cpuTimeOf(pid: number): CpuTime | undefined {
  try {
    const pids = [pid, ...descendantsOf(pid)];
    let processUs = 0;
    let mainThreadUs = 0;
    const byProcess: Record<number, number> = {};
    for (const p of pids) {
      try {
        const own = ticksOf(`/proc/${p}/stat`);
        mainThreadUs += ticksOf(`/proc/${p}/task/${p}/stat`);
        processUs += own;
        byProcess[p] = own;
      } catch (err) {
        // A worker that exited between the listing and the read: only the root must be readable.
        if (p === pid) throw err;
      }
    }
    return { processUs, mainThreadUs, processes: pids.length, byProcess };
  } catch {
    return undefined;
  }
}

/** CPU used between two readings, or undefined when either is missing. */
export function cpuDelta(before: CpuTime | undefined, after: CpuTime | undefined): CpuTime | undefined {
  if (!before || !after) return undefined;
  const byProcess = Object.fromEntries(Object.entries(after.byProcess).map(([pid, us]) => [pid, us - (before.byProcess[Number(pid)] ?? 0)]));
  return { processUs: after.processUs - before.processUs, mainThreadUs: after.mainThreadUs - before.mainThreadUs, processes: after.processes, byProcess };
}

/** Every process whose parent chain leads to `root`, from one scan of /proc. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(fieldsOf(stat)[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** The fields of a /proc stat line after `(comm)`, which may hold spaces: [0] is field 3 (state). */
function fieldsOf(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a /proc stat line, in µs (fields 14 and 15). */
function ticksOf(path: string): number {
  const fields = fieldsOf(readFileSync(path, 'utf8'));
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
}
