import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (`GET /metrics`), one registry per server so that
 * several servers in one process (tests, replicas) keep separate counts.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Requests answered, by procedure and code; see PerRequestCounts. */
  private readonly requestCounts = new PerRequestCounts();
  /** Validations by outcome. */
  private readonly validationCounts = new PerRequestCounts();

  constructor(audit: { depth: number; overflow: number }) {
    const requestCounts = this.requestCounts;
    new Counter({
      name: 'latchkey_requests_total',
      help: 'Requests answered, by procedure (RPC path or plain route) and gRPC code name or HTTP status.',
      labelNames: ['procedure', 'code'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        requestCounts.forEach((procedure, code, n) => this.inc({ procedure, code }, n));
      },
    });
    const validationCounts = this.validationCounts;
    new Counter({
      name: 'latchkey_credential_validations_total',
      help: 'Runtime credential validations by outcome: OK or the refusal reason.',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        validationCounts.forEach((reason, _, n) => this.inc({ reason }, n));
      },
    });
    new Counter({
      name: 'latchkey_rate_limit_refusals_total',
      help: 'Runtime requests refused with RATE_LIMITED: a credential over its rate limit, or a client address or id blocked after too many failed attempts.',
      registers: [this.registry],
      collect() {
        // The validations refused with RATE_LIMITED, under their own name for dashboards and alerts.
        this.reset();
        this.inc(validationCounts.count('RATE_LIMITED', ''));
      },
    });
    new Gauge({
      name: 'latchkey_audit_queue_depth',
      help: 'Audit records waiting to be written.',
      registers: [this.registry],
      collect() {
        this.set(audit.depth);
      },
    });
    new Gauge({
      name: 'latchkey_audit_overflow_total',
      help: 'Audit records not written because the queue was full (should stay 0).',
      registers: [this.registry],
      collect() {
        this.set(audit.overflow);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'latchkey_' });
  }

  /** One request answered (its procedure or route, and its code or HTTP status). */
  observeRequest(procedure: string, code: string): void {
    this.requestCounts.add(procedure, code);
  }

  observeValidation(outcome: string): void {
    this.validationCounts.add(outcome, '');
  }
}

/**
 * Counts by up to two label values, kept in plain maps and handed to prom-client only when
 * /metrics is scraped: prom-client builds and validates a label hash on every inc(), which would
 * be paid on every request.
 */
class PerRequestCounts {
  private readonly counts = new Map<string, Map<string, number>>();

  add(first: string, second: string): void {
    let inner = this.counts.get(first);
    if (inner === undefined) this.counts.set(first, (inner = new Map()));
    inner.set(second, (inner.get(second) ?? 0) + 1);
  }

  count(first: string, second: string): number {
    return this.counts.get(first)?.get(second) ?? 0;
  }

  forEach(visit: (first: string, second: string, count: number) => void): void {
    for (const [first, inner] of this.counts) for (const [second, count] of inner) visit(first, second, count);
  }
}
