import type { Readable } from 'node:stream';

/** Where relayed lines go: the primary's own log destination (pino's SonicBoom). */
export interface LineSink {
  write(text: string): unknown;
}

/**
 * Copies a worker's stdout (its JSON log) into the primary's log, whole lines at a time.
 *
 * Workers do not write to the primary's stdout themselves: their logger writes buffered chunks
 * of 8 KiB and more, and writes of more than PIPE_BUF (4 KiB) bytes from several processes to
 * one pipe may interleave, cutting one JSON line with another. Passed through here, every line
 * reaches the primary's single writer whole. Resolves once the worker's stdout has closed, so
 * that the primary exits only after its workers' last lines.
 */
export function relayLines(source: Readable, sink: LineSink): Promise<void> {
  source.setEncoding('utf8');
  let partial = '';
  source.on('data', (chunk: string) => {
    const end = chunk.lastIndexOf('\n') + 1;
    if (end === 0) {
      partial += chunk;
      return;
    }
    sink.write(partial + chunk.slice(0, end));
    partial = chunk.slice(end);
  });
  return new Promise((resolve) => {
    source.once('close', () => {
      if (partial !== '') sink.write(`${partial}\n`);
      resolve();
    });
  });
}
