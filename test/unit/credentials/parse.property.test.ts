import fc from 'fast-check';
import { BASE62_ALPHABET } from '../../../src/credentials/checksum.js';
import {
  classifyImportedSecret,
  extractPresentedCredential,
  issueSecret,
  MAX_PRESENTED_LENGTH,
  type CredentialFormat,
  type IssueContext,
  type PresentedInput,
  type RandomSource,
} from '../../../src/credentials/index.js';
import { GOLDEN } from './fixtures.js';

/**
 * Properties of the request side of SPEC §3 (steps 1 and 2): whatever a
 * caller sends, the answer is a plain value; what latchkey issues always
 * parses back; and a mistyped or edited issued secret is refused as
 * malformed without ever reaching the database.
 */

const KINDS = new Set(['missing', 'conflict', 'malformed', 'presented']);
const FORMATS = new Set<CredentialFormat>(['KEY_PAIR', 'CLIENT_SECRET', 'UNLEASH', 'PUBLISHABLE_KEY', 'SECRET_KEY', 'IMPORTED']);

/** Pieces that steer generated strings towards the interesting shapes. */
const PIECES = [
  ...Object.values(GOLDEN).flatMap((g) => (typeof g === 'string' ? [g] : [g.clientId, g.secret])),
  'Bearer ',
  'bearer ',
  'Basic ',
  'lkat_',
  'pk_live_',
  'pk_test_',
  'sk_live_',
  'sec_',
  'pub_',
  ':',
  '.',
  '[]',
  '*',
  ' ',
  '\t',
  '\r\n',
  '\u0000',
  '\u00a0',
  '\ud800',
  '🔑',
  'default:production.',
];

const nasty: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 80 }), // any code point, lone surrogates included
  fc.string({ unit: 'binary-ascii', maxLength: 80 }), // control characters
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 16, maxLength: 600 }),
  fc.integer({ min: MAX_PRESENTED_LENGTH - 2, max: 5000 }).map((n) => 'k'.repeat(n)), // huge
  fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'grapheme-ascii', maxLength: 8 })), { maxLength: 6 }).map((p) => p.join('')),
);

const slot = fc.option(nasty, { nil: undefined });
const inputs: fc.Arbitrary<PresentedInput> = fc.record({
  authorization: slot,
  clientIdHeader: slot,
  clientSecretHeader: slot,
  publishableKeyQuery: slot,
  bodyClientSecret: slot,
});

describe('extractPresentedCredential on arbitrary input', () => {
  it('never throws and answers only missing, conflict, malformed or presented', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const r = extractPresentedCredential(input);
        expect(KINDS.has(r.kind)).toBe(true);
        if (r.kind === 'malformed') expect(typeof r.detail).toBe('string');
        if (r.kind === 'presented') {
          const c = r.credential;
          expect(FORMATS.has(c.format)).toBe(true);
          expect(c.secret.length).toBeGreaterThan(0);
          expect(c.secret.length).toBeLessThanOrEqual(MAX_PRESENTED_LENGTH);
          expect(c.secret).toMatch(/^[\x21-\x7e]+$/);
          expect(['authorization', 'headers', 'query', 'body']).toContain(c.source);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a single slot never answers conflict, and no slot at all is missing', () => {
    fc.assert(
      fc.property(nasty, fc.constantFrom<keyof PresentedInput>('authorization', 'clientIdHeader', 'clientSecretHeader', 'publishableKeyQuery', 'bodyClientSecret'), (value, key) => {
        const r = extractPresentedCredential({ [key]: value });
        expect(r.kind).not.toBe('conflict');
        if (value === '') expect(r.kind).toBe('missing');
      }),
      { numRuns: 1000 },
    );
  });

  it('classifyImportedSecret never throws, and accepts only what then parses as presented', () => {
    fc.assert(
      fc.property(nasty, (secret) => {
        const r = classifyImportedSecret(secret);
        if (r.ok) expect(extractPresentedCredential({ authorization: `Bearer ${secret}` }).kind).toBe('presented');
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- issued secrets ----

const id = fc.stringMatching(/^[a-z][a-z0-9-]{0,62}$/);
const projects = fc.oneof(fc.constant(['*']), id.map((p) => [p]), fc.uniqueArray(id, { minLength: 2, maxLength: 4 }));
/** Randomness drawn by fast-check (so failures shrink and replay); bytes kept below 248 so base62 sampling never stalls. */
const randomSource: fc.Arbitrary<RandomSource> = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => {
  let i = 0;
  return (size) => Uint8Array.from({ length: size }, () => bytes[i++ % bytes.length]! % 248);
});
const issuedFormat = fc.constantFrom('KEY_PAIR', 'CLIENT_SECRET', 'UNLEASH', 'PUBLISHABLE_KEY', 'SECRET_KEY' as const);
const issueCase = fc.record({
  format: issuedFormat,
  ctx: fc.record({ environments: id.map((e) => [e]), projects, live: fc.boolean() }) as fc.Arbitrary<IssueContext>,
  random: randomSource,
});

/** The ways a request may carry each format (SPEC §3 table). */
function carriers(format: CredentialFormat, secret: string, clientId: string | undefined): PresentedInput[] {
  switch (format) {
    case 'KEY_PAIR':
      return [{ authorization: `Bearer ${clientId}:${secret}` }, { clientIdHeader: clientId, clientSecretHeader: secret }];
    case 'CLIENT_SECRET':
      return [{ bodyClientSecret: secret }, { authorization: `Bearer ${secret}` }];
    case 'UNLEASH':
      return [{ authorization: secret }, { authorization: `Bearer ${secret}` }];
    case 'PUBLISHABLE_KEY':
      return [{ authorization: `Bearer ${secret}` }, { publishableKeyQuery: secret }];
    default:
      return [{ authorization: `Bearer ${secret}` }];
  }
}

describe('issued secrets', () => {
  it('always parse back to presented, with the same format, secret, client id and visible scope', () => {
    fc.assert(
      fc.property(issueCase, ({ format, ctx, random }) => {
        const issued = issueSecret(format, ctx, random);
        for (const input of carriers(format, issued.secret, issued.clientId)) {
          const r = extractPresentedCredential(input);
          expect(r.kind).toBe('presented');
          if (r.kind !== 'presented') return;
          expect(r.credential.format).toBe(format);
          expect(r.credential.secret).toBe(issued.secret);
          expect(r.credential.clientId).toBe(issued.clientId);
          if (format === 'UNLEASH') {
            const p = ctx.projects.includes('*') ? '*' : ctx.projects.length === 1 ? ctx.projects[0] : [];
            expect(r.credential.unleash).toEqual({ projects: p, environment: ctx.environments[0] });
          }
          if (format === 'PUBLISHABLE_KEY' || format === 'SECRET_KEY') expect(r.credential.environment).toBe(ctx.environments[0]);
        }
        expect(issued.hint.endsWith(issued.secret.slice(-4))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('with any single character of the checksummed part mistyped, are malformed', () => {
    fc.assert(
      fc.property(issueCase, fc.nat(), fc.nat(), fc.boolean(), ({ format, ctx, random }, at, by, publicHalf) => {
        const issued = issueSecret(format, ctx, random);
        // The part a typo may hit (prefixes are fixed text; a typo there is another shape), and its alphabet.
        const target = format === 'KEY_PAIR' && publicHalf ? issued.clientId! : issued.secret;
        const start = format === 'CLIENT_SECRET' ? 0 : format === 'UNLEASH' ? target.lastIndexOf('.') + 1 : target.lastIndexOf('_') + 1;
        const alphabet = format === 'UNLEASH' ? '0123456789abcdef' : BASE62_ALPHABET;
        const i = start + (at % (target.length - start));
        const old = alphabet.indexOf(target[i]!);
        const typo = target.slice(0, i) + alphabet[(old + 1 + (by % (alphabet.length - 1))) % alphabet.length] + target.slice(i + 1);
        expect(typo).not.toBe(target);
        const [input] = carriers(
          format,
          format === 'KEY_PAIR' && publicHalf ? issued.secret : typo,
          format === 'KEY_PAIR' && publicHalf ? typo : issued.clientId,
        );
        expect(extractPresentedCredential(input!)).toMatchObject({ kind: 'malformed' });
      }),
      { numRuns: 1000 },
    );
  });

  it('UNLEASH: with the visible <project>:<environment> part edited, are malformed', () => {
    fc.assert(
      fc.property(issueCase, fc.oneof(fc.constant('*'), fc.constant('[]'), id), id, fc.boolean(), ({ ctx, random }, project, environment, editProject) => {
        const issued = issueSecret('UNLEASH', ctx, random);
        const [visible, tail] = [issued.secret.slice(0, issued.secret.lastIndexOf('.')), issued.secret.slice(issued.secret.lastIndexOf('.'))];
        const [p, e] = visible.split(':') as [string, string];
        const edited = (editProject ? `${project}:${e}` : `${p}:${environment}`) + tail;
        fc.pre(edited !== issued.secret);
        expect(extractPresentedCredential({ authorization: edited })).toMatchObject({ kind: 'malformed' });
      }),
      { numRuns: 500 },
    );
  });

  it('PUBLISHABLE_KEY / SECRET_KEY: with the environment in the key edited, are malformed', () => {
    fc.assert(
      fc.property(issueCase, id, ({ ctx, random }, environment) => {
        for (const format of ['PUBLISHABLE_KEY', 'SECRET_KEY'] as const) {
          const issued = issueSecret(format, ctx, random);
          const edited = issued.secret.replace(`_${ctx.environments[0]}_`, `_${environment}_`);
          fc.pre(edited !== issued.secret);
          expect(extractPresentedCredential({ authorization: `Bearer ${edited}` })).toMatchObject({ kind: 'malformed' });
        }
      }),
      { numRuns: 300 },
    );
  });
});
