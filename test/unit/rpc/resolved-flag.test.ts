import { toJson } from '@bufbuild/protobuf';
import { ResolvedFlagSchema } from '../../../gen/latchkey/flags/resolver/v1/resolver_pb.js';
import { resolvedFlagToProto } from '../../../src/rpc/flag-resolver-service.js';
import type { ResolvedFlag } from '../../../src/resolver/model.js';

const json = (r: ResolvedFlag) => toJson(ResolvedFlagSchema, resolvedFlagToProto(r));
const match = (flag: string, variant: string, value: ResolvedFlag['value']): ResolvedFlag => ({ flag, variant, value, reason: 'MATCH', errorMessage: undefined });

describe('resolvedFlagToProto', () => {
  it('gives the same answer the same message, built once', () => {
    const value = Object.freeze({ color: 'blue' });
    const first = resolvedFlagToProto(match('flags/reuse', 'blue', value));
    expect(resolvedFlagToProto(match('flags/reuse', 'blue', value))).toBe(first);
    expect(json(match('flags/reuse', 'blue', value))).toEqual({ flag: 'flags/reuse', variant: 'blue', value: { color: 'blue' }, reason: 'RESOLVE_REASON_MATCH' });
  });

  it('builds a new message when the served value changed (an edited variant), for objects and scalars', () => {
    expect(json(match('flags/edited', 'v', Object.freeze({ size: 1 })))).toMatchObject({ value: { size: 1 } });
    expect(json(match('flags/edited', 'v', Object.freeze({ size: 2 })))).toMatchObject({ value: { size: 2 } });
    expect(json(match('flags/scalar', 'on', true))).toMatchObject({ value: true });
    expect(json(match('flags/scalar', 'on', false))).toMatchObject({ value: false });
    expect(json(match('flags/scalar', 'on', 'true'))).toMatchObject({ value: 'true' });
    expect(json(match('flags/scalar', 'on', undefined))).toEqual({ flag: 'flags/scalar', variant: 'on', reason: 'RESOLVE_REASON_MATCH' });
  });

  it('keeps answering right for a flag edited many times (its cached answers start over)', () => {
    for (let i = 0; i < 40; i++) expect(json(match('flags/busy', 'v', i))).toMatchObject({ value: i });
    expect(json(match('flags/busy', 'v', 3))).toMatchObject({ value: 3 });
  });

  it('tells answers apart by variant and reason', () => {
    expect(json(match('flags/split', 'a', 'x'))).toMatchObject({ variant: 'a', reason: 'RESOLVE_REASON_MATCH' });
    expect(json({ ...match('flags/split', 'a', 'x'), reason: 'DEFAULT' })).toMatchObject({ variant: 'a', reason: 'RESOLVE_REASON_DEFAULT' });
    expect(json(match('flags/split', 'b', 'x'))).toMatchObject({ variant: 'b', reason: 'RESOLVE_REASON_MATCH' });
  });

  it('builds unknown flags and answers with an error message every time, with their own text', () => {
    const missing: ResolvedFlag = { flag: 'flags/nope', variant: undefined, value: undefined, reason: 'FLAG_NOT_FOUND', errorMessage: undefined };
    expect(resolvedFlagToProto(missing)).not.toBe(resolvedFlagToProto(missing));
    expect(json(missing)).toEqual({ flag: 'flags/nope', reason: 'RESOLVE_REASON_FLAG_NOT_FOUND' });
    const mismatch = (errorMessage: string): ResolvedFlag => ({ flag: 'flags/t', variant: undefined, value: undefined, reason: 'TYPE_MISMATCH', errorMessage });
    expect(json(mismatch('first'))).toMatchObject({ errorMessage: 'first' });
    expect(json(mismatch('second'))).toMatchObject({ errorMessage: 'second' });
  });
});
