/** The path of a request target, without its query. */
export function pathOf(target: string | undefined): string {
  const t = target ?? '/';
  const q = t.indexOf('?');
  return q < 0 ? t : t.slice(0, q);
}
