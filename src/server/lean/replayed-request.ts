import type { HttpRequest } from '../http-util.js';

/** Replayed requests → the request they stand for (so that the request's RequestInfo is found). */
const originals = new WeakMap<object, HttpRequest>();

/**
 * The request as the Connect adapter must see it after the lean path has read some or all of its
 * body and decided not to serve it (a body that is not one well-formed message within the limits):
 * reading it yields the bytes already read, then whatever is still arriving. Everything else
 * (headers, socket, events, the HTTP/2 stream) is the request itself, so the adapter answers
 * exactly as if it had been handed the request untouched.
 */
export function replayedRequest(req: HttpRequest, chunks: readonly Buffer[], ended: boolean): HttpRequest {
  async function* replay(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) yield chunk;
    if (!ended) yield* req as AsyncIterable<Buffer>;
  }
  const proxy = new Proxy(req, {
    get(target, property) {
      if (property === Symbol.asyncIterator) return replay;
      const value: unknown = Reflect.get(target, property, target);
      // Methods (on, once, pause, …) act on the request itself, never on the proxy.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  originals.set(proxy, req);
  return proxy;
}

/** The request a replayed request stands for, or the request itself. */
export function originalRequestOf(req: HttpRequest): HttpRequest {
  return originals.get(req) ?? req;
}
