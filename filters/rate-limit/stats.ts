// The rate-limit filter's metrics: per rule, and about the rate limit service.
import { Metric, counter, gauge } from "../../assembly/runtime";

/** One rule's numbers; which ones exist depends on its scope and sync. */
export class RuleStats {
  allowed: Metric;
  limited: Metric;
  // Local rules: bucket upkeep. Global rules: what the service's failures did.
  casRetries: Metric | null = null;
  keys: Metric | null = null;
  failureAllowed: Metric | null = null;
  failureDenied: Metric | null = null;
  // Global rules with sync: their reports.
  syncReports: Metric | null = null;
  syncFailures: Metric | null = null;

  constructor(base: string, global: bool, sync: bool) {
    this.allowed = counter(base + "allowed_total");
    this.limited = counter(base + "limited_total");
    if (global) {
      this.failureAllowed = counter(base + "failure_allowed_total");
      this.failureDenied = counter(base + "failure_denied_total");
      if (sync) {
        this.syncReports = counter(base + "sync_reports_total");
        this.syncFailures = counter(base + "sync_failures_total");
      }
    } else {
      this.casRetries = counter(base + "cas_retries_total");
      this.keys = gauge(base + "keys_tracked");
    }
  }
}

/** The filter's own numbers about the rate limit service. */
export class GlobalStats {
  /** Requests that needed the service's decision (one call each, or a failure when max_pending was reached). */
  calls: Metric;
  /** Those that got no usable answer, whatever the cause. */
  errors: Metric;
  /** Calls in flight in this VM. */
  pending: Metric;

  constructor(base: string) {
    this.calls = counter(base + "global.calls_total");
    this.errors = counter(base + "global.errors_total");
    this.pending = gauge(base + "global.pending");
  }
}
