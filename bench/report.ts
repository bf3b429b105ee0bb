/** The rows of one run: what each measured, its ratio and its target, as a table and as JSON. */
import type { Comparison, Measured } from './compare.js';

export interface Row {
  family: string;
  /** What the row measures, as printed. */
  name: string;
  /** The figure compared with the target (a ratio, µs, ms, bytes …), or undefined when not available. */
  value: number | undefined;
  unit: string;
  /** e.g. `≥ 0.35`; empty when the row has no target. */
  target: string;
  met: boolean | undefined;
  /** latchkey's side and the ceiling's (or the other latchkey), when the row is a comparison. */
  subject?: Measured;
  baseline?: Measured;
  roundRatios?: number[];
  /** Anything the figure needs to be read right. */
  note?: string;
  /** Everything else the row measured. */
  details?: Record<string, unknown>;
}

export const atLeast = (value: number | undefined, target: number) => ({ target: `≥ ${target}`, met: value === undefined || Number.isNaN(value) ? undefined : value >= target });
export const atMost = (value: number | undefined, target: number) => ({ target: `≤ ${target}`, met: value === undefined || Number.isNaN(value) ? undefined : value <= target });

/** A throughput row: latchkey ÷ ceiling requests/s, median of rounds. */
export function throughputRow(family: string, name: string, c: Comparison, target: number, note?: string): Row {
  return { family, name, value: c.ratio, unit: '×', ...atLeast(c.ratio, target), subject: c.subject, baseline: c.baseline, roundRatios: c.roundRatios, note, details: { cpuRatio: c.cpuRatio, cpuRoundRatios: c.cpuRoundRatios } };
}

const f = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

/** `2345 req/s, p50 1.2 / p99 4.5 ms, 310 µs CPU` */
export function side(m: Measured | undefined): string {
  if (!m) return '';
  const cpu = m.cpuUsPerCall ? `, ${f(m.cpuUsPerCall.process)} µs CPU` : '';
  const errors = m.errors ? `, ${m.errors} errors` : '';
  return `${f(m.rps)} req/s, p50 ${f(m.p50ms, 2)} / p99 ${f(m.p99ms, 1)} ms${cpu}${errors}`;
}

function valueText(r: Row): string {
  if (r.value === undefined) return 'not available';
  const digits = r.unit === '×' ? 2 : Math.abs(r.value) >= 100 ? 0 : Math.abs(r.value) >= 10 ? 1 : 2;
  return `${f(r.value, digits)}${r.unit === '×' ? '' : ` ${r.unit}`}`;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function printTable(rows: Row[]): string {
  const header = ['row', 'latchkey', 'ceiling / other side', 'figure', 'target', 'met'];
  const cells = rows.map((r) => [r.name, side(r.subject), side(r.baseline), valueText(r), r.target, r.met === undefined ? '' : r.met ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => pad(x, widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** The printable rounds of a comparison row: `0.31 0.33 0.30 …`. */
export const roundsText = (ratios: number[] | undefined) => (ratios ?? []).map((r) => r.toFixed(2)).join(' ');
