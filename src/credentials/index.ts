/**
 * Runtime client credentials, pure: formats, issuing, parsing, digests,
 * allow-lists, environment matching and scopes (SPEC §3, §4). No I/O, no
 * Kysely, no protobuf, no Connect: the validation pipeline and the management
 * service compose these.
 */
export type {
  CredentialFormat,
  CredentialSource,
  ImportedShape,
  IssueContext,
  IssuedFormat,
  IssuedSecret,
  ParsedCredential,
  PresentedCredential,
  PresentedInput,
  UnleashProjects,
  UnleashVisiblePart,
} from './types.js';
export { crc32, base62Checksum, hexChecksum } from './checksum.js';
export { issueSecret } from './issue.js';
export { secretHint } from './hint.js';
export { digestSecret, constantTimeEqual, constantTimeEqualHex } from './digest.js';
export { parseCredentialToken, MAX_PRESENTED_LENGTH, IMPORTED_MIN_LENGTH, IMPORTED_MAX_LENGTH, type TokenParse } from './parse.js';
export { extractPresentedCredential } from './extract.js';
export { classifyImportedSecret, type ImportedSecretCheck } from './imported.js';
export { formatUnleashVisiblePart, unleashScopeMatches } from './unleash.js';
export type { RandomSource } from './random.js';
export { ruleAppliesToEnvironments } from './environments.js';
export { ADMIN_SCOPE, RUNTIME_SCOPES, ALL_SCOPES, hasScope, validateScopes, type RuntimeScope, type Scope } from './scopes.js';
