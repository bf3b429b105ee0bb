/**
 * Plain types shared by the credential modules. Nothing here imports
 * protobuf, Kysely or Connect: the validation pipeline and the management
 * service both build on these, and the unit tests run them without I/O.
 */

/** How a credential's secret is written on the wire (SPEC §3, "Wire formats"). */
export type CredentialFormat = 'KEY_PAIR' | 'CLIENT_SECRET' | 'UNLEASH' | 'PUBLISHABLE_KEY' | 'SECRET_KEY' | 'IMPORTED';

/** The formats latchkey issues itself (an imported secret is brought by the caller). */
export type IssuedFormat = Exclude<CredentialFormat, 'IMPORTED'>;

/** Where in the request a credential was found. */
export type CredentialSource = 'authorization' | 'headers' | 'query' | 'body';

/**
 * The `<project>` half of an Unleash token's visible part: a project id,
 * `'*'` for every project (present and future), or an empty array for `[]`,
 * which says "a list of projects" without naming them (the list is the
 * stored scope; Unleash writes tokens the same way).
 */
export type UnleashProjects = '*' | string[] | string;

/** The visible `<project>:<environment>` part of an Unleash-style token. */
export interface UnleashVisiblePart {
  projects: UnleashProjects;
  environment: string;
}

/** Which kind of foreign secret an imported one looks like (informational: for hints and listings). */
export type ImportedShape =
  /** Unleash's legacy tokens: only hex (Unleash v3 issued 64 hex characters). */
  | 'unleash-v1'
  /** Unleash v4+ tokens, `<project>:<environment>.<hex>`, with no latchkey checksum. */
  | 'unleash-v2'
  /** A proxy client key or a key from another system: printable ASCII, no whitespace. */
  | 'opaque'
  /** A well-formed secret issued by a latchkey server (e.g. another installation being migrated). */
  | 'latchkey';

/** A credential found in a request whose shape and checksum are correct. Its digest is looked up next. */
export interface ParsedCredential {
  format: CredentialFormat;
  /** The exact string whose SHA-256 digest is stored (for a key pair: the `sk_` half). */
  secret: string;
  /** The public `pk_` half of a key pair; compared to the stored client id after the lookup. */
  clientId?: string;
  /** For UNLEASH tokens: the visible part, to compare with the stored scope. */
  unleash?: UnleashVisiblePart;
  /** For PUBLISHABLE_KEY / SECRET_KEY: the environment id written in the key. */
  environment?: string;
  /** For IMPORTED secrets: what the secret looks like. */
  importedShape?: ImportedShape;
  source: CredentialSource;
}

/** What a request carries, already pulled out of headers, query and body by the transport. */
export interface PresentedInput {
  /** The `Authorization` header value. */
  authorization?: string | undefined;
  /** `X-Client-ID` (header names are case-insensitive on the wire; the transport found it). */
  clientIdHeader?: string | undefined;
  /** `X-Client-Secret`. */
  clientSecretHeader?: string | undefined;
  /** The `publishableKey` query parameter. */
  publishableKeyQuery?: string | undefined;
  /** The `client_secret` (`clientSecret`) field of a resolver request body. */
  bodyClientSecret?: string | undefined;
}

/** Step 1 and 2 of SPEC §3's validation order, as one plain value (never an exception). */
export type PresentedCredential =
  | { kind: 'missing' }
  | { kind: 'conflict' }
  | { kind: 'malformed'; detail: string }
  | { kind: 'presented'; credential: ParsedCredential };

/** What the issuer needs to know about the credential a secret is for. */
export interface IssueContext {
  /** Environment ids of the credential (UNLEASH, PUBLISHABLE_KEY and SECRET_KEY need exactly one). */
  environments: readonly string[];
  /** Project ids, or `['*']` for every project (UNLEASH writes them into the token). */
  projects: readonly string[];
  /** True when one of the environments is marked production: KEY_PAIR secrets are then `_live_`. */
  live: boolean;
  /** On rotation of a KEY_PAIR: the existing public client id, kept so apps need to change only the secret. */
  clientId?: string | undefined;
}

export interface IssuedSecret {
  /** The plaintext, returned to the caller once and never stored. */
  secret: string;
  /** KEY_PAIR only: the public `pk_` half. */
  clientId?: string;
  /** `secret_hint` for listings: a prefix and the last 4 characters. */
  hint: string;
}
