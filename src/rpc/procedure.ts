import type { DescMethod } from '@bufbuild/protobuf';

const names = new WeakMap<DescMethod, string>();

/**
 * `/package.Service/Method` of an RPC (the path every protocol uses), built once per method: it is
 * looked up in the method policies, the metrics and the request log on every call, and a string
 * built per call is hashed again at each of those lookups.
 */
export function procedureOf(method: DescMethod): string {
  let name = names.get(method);
  if (name === undefined) {
    name = `/${method.parent.typeName}/${method.name}`;
    names.set(method, name);
  }
  return name;
}
