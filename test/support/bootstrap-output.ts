/** What latchkey shows people on stderr about admin API clients, and its JSON log, for exact assertions. */

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The credentials block (as src/iam/bootstrap.ts prints it) after `heading`, exactly; `id` and
 * `secret` are captured (`secret` only when `secretShown`; otherwise the line names the variable).
 */
export function credentialsBlock(heading: string[], port: number | string, opts: { id?: string; secretShown?: boolean } = {}): RegExp {
  const secretShown = opts.secretShown ?? true;
  const text = [
    '',
    ...heading,
    '  client id:     (ID)',
    `  client secret: ${secretShown ? '(SECRET)' : '(the value of LATCHKEY_BOOTSTRAP_CLIENT_SECRET)'}`,
    'Exchange them for an access token:',
    '  curl -s -d grant_type=client_credentials -d client_id=(ID) -d client_secret=<secret> http://localhost:(PORT)/v1/oauth/token',
    '',
    '',
  ].join('\n');
  const id = opts.id === undefined ? '(?<id>lkc_[0-9A-Za-z]{24})' : `(?<id>${escape(opts.id)})`;
  return new RegExp(
    `^${escape(text)
      .replace('\\(ID\\)', id)
      .replace('\\(ID\\)', '\\k<id>')
      .replace('\\(SECRET\\)', '(?<secret>lks_[0-9A-Za-z]{40})')
      .replace('\\(PORT\\)', escape(String(port)))}$`,
  );
}

/** What a first start shows on stderr, exactly. */
export const adminAnnouncement = (port: number) =>
  credentialsBlock(['latchkey created an admin API client. Its secret is shown this once; store it now.'], port);

/** The `msg` of every JSON log line but the per-request ones, in order. */
export const messages = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg)
    .filter((m) => m !== 'request');
