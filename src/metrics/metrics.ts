import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (`GET /metrics`), one registry per server so that
 * several servers in one process (tests, replicas) keep separate counts.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'latchkey_requests_total',
    help: 'Requests answered, by procedure (RPC path or plain route) and gRPC code name or HTTP status.',
    labelNames: ['procedure', 'code'] as const,
    registers: [this.registry],
  });

  readonly validations = new Counter({
    name: 'latchkey_credential_validations_total',
    help: 'Runtime credential validations by outcome: OK or the refusal reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: 'latchkey_rate_limit_refusals_total',
    help: 'Requests refused because their credential exceeded its rate limit.',
    registers: [this.registry],
  });

  constructor(audit: { depth: number; overflow: number }) {
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

  observeValidation(outcome: string): void {
    this.validations.inc({ reason: outcome });
    if (outcome === 'RATE_LIMITED') this.rateLimitRefusals.inc();
  }
}
