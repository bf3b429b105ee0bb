/**
 * How soon a flag change shows in resolves at 10 000 flags: UpdateFlag through the management API,
 * then resolve the flag over Connect JSON, again and again, until the new variant comes back.
 * Idle, and while other connections resolve every flag (a long call on the serving event loop can
 * hold the update and the resolves behind it). Times count from the UpdateFlag response, and from
 * sending it (the update itself may wait too).
 */
import { FieldMaskSchema } from '@bufbuild/protobuf/wkt';
import { create } from '@bufbuild/protobuf';
import { connectJsonCall } from '../calls.js';
import { load } from '../drivers/index.js';
import { config } from '../config.js';
import { basicAuth } from '../latchkey-process.js';
import type { Server } from '../processes.js';
import { atMost, type Row } from '../report.js';
import { flagAdmin } from '../seed-api.js';
import { median } from '../stats.js';
import type { RunContext } from './context.js';

/** latchkey's change-poll interval (src/app.ts CHANGE_POLL_MS): the target for seeing a change. */
const CHANGE_POLL_MS = 500;
const FLAG = 'flag-20';
const GIVE_UP_MS = 30_000;

interface Trial {
  updateMs: number;
  visibleAfterAckMs: number;
  visibleAfterSendMs: number;
  polls: number;
}

async function resolvedVariant(port: number, secret: string): Promise<string | undefined> {
  const call = connectJsonCall(port, secret, [FLAG]);
  const res = await fetch(`http://127.0.0.1:${port}${call.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...call.headers }, body: call.body });
  const json = (await res.json()) as { resolvedFlags?: { variant?: string }[] };
  return json.resolvedFlags?.[0]?.variant;
}

async function trials(server: Server, secret: string, n: number): Promise<Trial[]> {
  const admin = flagAdmin(server.port);
  const setVariant = (variant: string) =>
    admin.updateFlag({ flag: { name: `flags/${FLAG}`, defaultVariant: variant }, updateMask: create(FieldMaskSchema, { paths: ['default_variant'] }) }, { headers: basicAuth });
  const out: Trial[] = [];
  for (let i = 0; i < n; i++) {
    const want = (await resolvedVariant(server.port, secret)) === 'treatment' ? 'control' : 'treatment';
    const sent = performance.now();
    await setVariant(want);
    const acked = performance.now();
    let polls = 0;
    for (;;) {
      polls++;
      if ((await resolvedVariant(server.port, secret)) === want) break;
      if (performance.now() - sent > GIVE_UP_MS) throw new Error(`flag change not visible after ${GIVE_UP_MS} ms`);
    }
    const seen = performance.now();
    out.push({ updateMs: acked - sent, visibleAfterAckMs: seen - acked, visibleAfterSendMs: seen - sent, polls });
  }
  return out;
}

function row(name: string, t: Trial[], note: string): Row {
  const after = median(t.map((x) => x.visibleAfterSendMs));
  return {
    family: 'flag-change',
    name,
    value: after,
    unit: 'ms',
    ...atMost(after, CHANGE_POLL_MS),
    note,
    details: {
      trials: t,
      medianUpdateMs: median(t.map((x) => x.updateMs)),
      medianVisibleAfterAckMs: median(t.map((x) => x.visibleAfterAckMs)),
      maxVisibleAfterSendMs: Math.max(...t.map((x) => x.visibleAfterSendMs)),
    },
  };
}

export async function flagChangeRows(ctx: RunContext, big: { flags: number; server: Server }): Promise<void> {
  const secret = ctx.stores.credentials.backend;
  const admin = flagAdmin(big.server.port);
  // No rules: the default variant alone decides, so a change of it is what a resolve shows.
  await admin.updateFlag({ flag: { name: `flags/${FLAG}`, rules: [] }, updateMask: create(FieldMaskSchema, { paths: ['rules'] }) }, { headers: basicAuth });
  const n = config.flagChangeTrials;
  const idle = await trials(big.server, secret, n);
  const fmt = (t: Trial[]) => `median ${median(t.map((x) => x.visibleAfterSendMs)).toFixed(0)} ms from sending UpdateFlag (UpdateFlag itself ${median(t.map((x) => x.updateMs)).toFixed(0)} ms; max ${Math.max(...t.map((x) => x.visibleAfterSendMs)).toFixed(0)} ms)`;
  ctx.rows.push(row(`flag change visible, ${big.flags} flags, idle`, idle, `${n} trials: ${fmt(idle)}`));
  ctx.log(`flag change at ${big.flags} flags, idle: ${fmt(idle)}`);

  // Under load: resolve-all on the configured connections for as long as the trials take.
  let loading = true;
  const background = (async () => {
    while (loading) await load(connectJsonCall(big.server.port, secret, []), 2);
  })();
  await new Promise((r) => setTimeout(r, 1000));
  let busy: Trial[];
  try {
    busy = await trials(big.server, secret, n);
  } finally {
    loading = false;
    await background;
  }
  ctx.rows.push(row(`flag change visible, ${big.flags} flags, under resolve-all load`, busy, `${n} trials with ${config.concurrency} connections resolving every flag: ${fmt(busy)}`));
  ctx.log(`flag change at ${big.flags} flags, under resolve-all load: ${fmt(busy)}`);
}
