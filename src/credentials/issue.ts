import { invalidArgument } from '../domain/errors.js';
import { base62Checksum, hexChecksum } from './checksum.js';
import { secretHint } from './hint.js';
import { isValidPublicKey } from './parse.js';
import { randomBase62, randomHex, secureRandom, type RandomSource } from './random.js';
import { BODY_RANDOM_LENGTH, CLIENT_SECRET_RANDOM_LENGTH, isId, UNLEASH_RANDOM_BYTES, type KeyPairMode } from './shapes.js';
import { formatUnleashVisiblePart } from './unleash.js';
import type { CredentialFormat, IssueContext, IssuedSecret } from './types.js';

/**
 * A new secret in one of the formats latchkey issues (SPEC §3, "Wire
 * formats"). Every one has at least 128 bits of randomness and a checksum of
 * everything before it; see shapes.ts for the exact lengths.
 *
 * The context is validated by the management service before this is called
 * (exactly one environment for UNLEASH, PUBLISHABLE_KEY and SECRET_KEY, known
 * ids); what is checked again here would otherwise produce a secret the
 * parser refuses, so it fails loudly with INVALID_ARGUMENT instead.
 */
export function issueSecret(format: CredentialFormat, ctx: IssueContext, random: RandomSource = secureRandom): IssuedSecret {
  switch (format) {
    case 'KEY_PAIR': {
      const mode: KeyPairMode = ctx.live ? 'live' : 'test';
      // On rotation the public half stays: apps change one value, not two.
      if (ctx.clientId !== undefined && !isValidPublicKey(ctx.clientId)) {
        throw invalidArgument([{ field: 'credential.client_id', description: 'not a key-pair client id latchkey issued' }]);
      }
      const clientId = ctx.clientId ?? checksummed(`pk_${mode}_`, random);
      const secret = checksummed(`sk_${mode}_`, random);
      return { secret, clientId, hint: secretHint(secret) };
    }
    case 'CLIENT_SECRET': {
      // No prefix (the Confidence shape): 26 random characters + 6 checksum characters.
      const secret = checksummed('', random, CLIENT_SECRET_RANDOM_LENGTH);
      return { secret, hint: secretHint(secret) };
    }
    case 'UNLEASH': {
      const environment = onlyEnvironment(format, ctx);
      ctx.projects.forEach((p, i) => {
        if (p !== '*' && !isId(p)) throw invalidArgument([{ field: `credential.projects[${i}]`, description: 'must match [a-z][a-z0-9-]{0,62} or be "*"' }]);
      });
      if (ctx.projects.length === 0) throw invalidArgument([{ field: 'credential.projects', description: 'an UNLEASH token names its projects' }]);
      // The checksum covers the visible part too: an edited `<project>:<environment>` is malformed.
      const payload = `${formatUnleashVisiblePart(ctx.projects, environment)}.${randomHex(UNLEASH_RANDOM_BYTES, random)}`;
      const secret = payload + hexChecksum(payload);
      return { secret, hint: secretHint(secret) };
    }
    case 'PUBLISHABLE_KEY':
    case 'SECRET_KEY': {
      const environment = onlyEnvironment(format, ctx);
      const secret = checksummed(`${format === 'PUBLISHABLE_KEY' ? 'pub' : 'sec'}_${environment}_`, random);
      return { secret, hint: secretHint(secret) };
    }
    case 'IMPORTED':
      // Accepted in the signature so callers can pass a stored format; an imported secret is the caller's own.
      throw invalidArgument([{ field: 'credential.format', description: 'latchkey does not issue IMPORTED secrets; use ImportClientCredential' }]);
  }
}

/** `prefix` + random base62 + the base62 checksum of both. */
function checksummed(prefix: string, random: RandomSource, length = BODY_RANDOM_LENGTH): string {
  const payload = prefix + randomBase62(length, random);
  return payload + base62Checksum(payload);
}

/** The single environment a format writes into its secret. */
function onlyEnvironment(format: CredentialFormat, ctx: IssueContext): string {
  if (ctx.environments.length !== 1) {
    throw invalidArgument([{ field: 'credential.environments', description: `a ${format} credential needs exactly one environment (it is part of the secret)` }]);
  }
  const environment = ctx.environments[0]!;
  if (!isId(environment)) throw invalidArgument([{ field: 'credential.environments[0]', description: 'must match [a-z][a-z0-9-]{0,62}' }]);
  return environment;
}
