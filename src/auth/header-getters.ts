/** Header access common to Node's header objects and Fetch `Headers`: one header by lower-case name. */
export type HeaderGetter = (name: string) => string | undefined;

export function nodeHeaderGetter(headers: Record<string, string | string[] | undefined>): HeaderGetter {
  return (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
}

export function fetchHeaderGetter(headers: Headers): HeaderGetter {
  return (name) => headers.get(name) ?? undefined;
}
