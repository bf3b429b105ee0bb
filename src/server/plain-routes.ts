import type { HttpRequest, HttpResponse } from './http-util.js';
import type { RequestInfo } from './request-info.js';

/** A plain HTTP route (not an RPC): health, metrics, OAuth, compatibility routes. */
export interface PlainRoute {
  method: 'GET' | 'POST';
  /** Exact path, e.g. `/healthz`, or a prefix ending in `/` when `prefix` is set. */
  path: string;
  prefix?: boolean;
  handle(req: HttpRequest, res: HttpResponse, info: RequestInfo, url: URL): Promise<void> | void;
}

export class PlainRouter {
  private readonly routes: PlainRoute[] = [];

  add(route: PlainRoute): this {
    this.routes.push(route);
    return this;
  }

  /** The route for this path, and whether the method is one it serves. */
  match(method: string, pathname: string): { route: PlainRoute; methodAllowed: boolean } | undefined {
    const byPath = this.routes.filter((r) => (r.prefix ? pathname.startsWith(r.path) : pathname === r.path));
    if (byPath.length === 0) return undefined;
    const exact = byPath.find((r) => r.method === method);
    return exact ? { route: exact, methodAllowed: true } : { route: byPath[0]!, methodAllowed: false };
  }
}
