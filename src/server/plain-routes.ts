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

  /** The route for this path, and whether the method is one it serves. Runs for every request, RPCs included. */
  match(method: string, pathname: string): { route: PlainRoute; methodAllowed: boolean } | undefined {
    let samePath: PlainRoute | undefined;
    for (const r of this.routes) {
      if (!(r.prefix ? pathname.startsWith(r.path) : pathname === r.path)) continue;
      if (r.method === method) return { route: r, methodAllowed: true };
      samePath ??= r;
    }
    return samePath && { route: samePath, methodAllowed: false };
  }
}
