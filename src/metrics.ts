import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DecisionLog } from './decision/log.js';
import type { ResidualCounters } from './residual/engine.js';
import type { Resources } from './resources.js';

/** Prometheus metrics. Every way out of the gate is counted (Envoy ext_authz style). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'writegate_requests_total', help: 'Requests by upstream and class (read, write, refused).',
    labelNames: ['upstream', 'class'] as const, registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'writegate_decisions_total', help: 'Gated requests by outcome and engine.',
    labelNames: ['upstream', 'outcome', 'engine'] as const, registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: 'writegate_decision_seconds', help: 'Time to decide a gated request (input building included).',
    labelNames: ['upstream', 'engine'] as const, registers: [this.registry],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  readonly residual = new Counter({
    name: 'writegate_residual_events_total', help: 'Residual engine events seen by the gate: hit, fallback (with reason), compiled, not_compilable, refresh_failed.',
    labelNames: ['event', 'reason'] as const, registers: [this.registry],
  });
  readonly residualMismatches = new Counter({
    name: 'writegate_residual_mismatches_total',
    help: 'Residual allows that OPA\'s Data API did not give on re-check; each switches the residual off for that policy revision.',
    labelNames: ['upstream'] as const, registers: [this.registry],
  });
  readonly residualVerifications = new Counter({
    name: 'writegate_residual_verifications_total',
    help: 'Shadow re-checks of residual allows: verified (OPA agreed), mismatch, unverified (OPA could not be asked), dropped (queue full), abandoned (shutdown).',
    labelNames: ['upstream', 'result'] as const, registers: [this.registry],
  });

  readonly notifyDeliveries = new Counter({
    name: 'writegate_notify_deliveries_total',
    help: 'Notification delivery attempts per target (slack, issues): ok, retry (failed, tried again), failed (given up).',
    labelNames: ['target', 'result'] as const, registers: [this.registry],
  });
  readonly notifyDropped = new Counter({
    name: 'writegate_notify_dropped_total',
    help: 'Notifications not sent: duplicate (same finding within notify.dedupWindowMs), queue_full, closed (shutdown).',
    labelNames: ['reason'] as const, registers: [this.registry],
  });

  /** Exposes what requests hold now, and the decision log's suppressed records and rotations, read at scrape time. */
  observeLimits(resources: Resources, log: DecisionLog): void {
    new Gauge({
      name: 'writegate_inflight', help: 'Held now: write-body bytes buffered (body_bytes, limits.inflightBodyBytes), reads in flight (streams).',
      labelNames: ['resource'] as const, registers: [this.registry],
      collect() {
        this.set({ resource: 'body_bytes' }, resources.bodyBytes);
        this.set({ resource: 'streams' }, resources.streams);
      },
    });
    new Gauge({
      name: 'writegate_decision_log_counters',
      help: 'Decision log: records of refused requests over their client rate (suppressed, counted in writegate/suppressed records), rotations, rotation_failures.',
      labelNames: ['counter'] as const, registers: [this.registry],
      collect() {
        this.set({ counter: 'suppressed' }, log.counters.suppressed);
        this.set({ counter: 'rotations' }, log.counters.rotations);
        this.set({ counter: 'rotation_failures' }, log.counters.rotationFailures);
      },
    });
  }

  /** Exposes the residual engine's own counters (hits, misses, compiles, fallbacks by reason). */
  observeResidual(counters: ResidualCounters): void {
    new Gauge({
      name: 'writegate_residual_counters', help: 'The residual engine counters, read at scrape time.',
      labelNames: ['counter', 'reason'] as const, registers: [this.registry],
      collect() {
        this.reset();
        this.set({ counter: 'hits', reason: '' }, counters.hits);
        this.set({ counter: 'misses', reason: '' }, counters.misses);
        this.set({ counter: 'compiles', reason: '' }, counters.compiles);
        for (const [reason, n] of Object.entries(counters.fallbacks)) this.set({ counter: 'fallbacks', reason }, n);
      },
    });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'writegate_' });
  }
}
