import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '../../gen/grpc/health/v1/health_pb.js';

/**
 * Serving state shared by grpc.health.v1.Health and `GET /healthz`. It turns
 * NOT_SERVING when shutdown begins, so load balancers stop sending traffic
 * while in-flight calls drain; open Watch streams get NOT_SERVING and end.
 */
export class HealthState {
  private serving = true;
  private readonly watchers = new Set<() => void>();

  constructor(private readonly serviceNames: ReadonlySet<string>) {}

  isServing(): boolean {
    return this.serving;
  }

  knows(service: string): boolean {
    return service === '' || this.serviceNames.has(service);
  }

  stopServing(): void {
    this.serving = false;
    for (const notify of this.watchers) notify();
  }

  /** Resolves on the next status change. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.watchers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.watchers.add(done);
      signal.addEventListener('abort', done);
    });
  }
}

export function registerHealth(router: ConnectRouter, state: HealthState): void {
  const status = (service: string) =>
    create(HealthCheckResponseSchema, {
      status: !state.knows(service)
        ? ServingStatus.SERVICE_UNKNOWN
        : state.isServing()
          ? ServingStatus.SERVING
          : ServingStatus.NOT_SERVING,
    });
  router.service(Health, {
    check(req) {
      // grpc.health.v1: an unknown service is NOT_FOUND on Check (Watch reports SERVICE_UNKNOWN).
      if (!state.knows(req.service)) {
        throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      }
      return status(req.service);
    },
    async *watch(req, ctx) {
      let last: ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const current = status(req.service);
        if (current.status !== last) {
          last = current.status;
          yield current;
        }
        // Shutting down: the watcher has its NOT_SERVING, and the stream ends (OK) so that the
        // drain does not wait the whole shutdown timeout for a call that would never finish.
        if (!state.isServing()) return;
        await state.changed(ctx.signal);
      }
    },
  });
}
