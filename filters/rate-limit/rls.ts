// The rate limit service protocol (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit)
// on the wire: the request the filter sends and the parts of the answer it uses. Pure: no host
// calls, no policy (what a status means for the request is index.ts's business).
//
//   RateLimitRequest   { string domain = 1; repeated RateLimitDescriptor descriptors = 2; uint32 hits_addend = 3; }
//   RateLimitDescriptor{ repeated Entry entries = 1; ...; google.protobuf.UInt64Value hits_addend = 3; }
//   Entry { string key = 1; string value = 2; }   UInt64Value { uint64 value = 1; }
//   RateLimitResponse  { Code overall_code = 1; repeated DescriptorStatus statuses = 2; ... }
//   DescriptorStatus   { Code code = 1; RateLimit current_limit = 2; uint32 limit_remaining = 3;
//                        google.protobuf.Duration duration_until_reset = 4; ... }
//   RateLimit          { uint32 requests_per_unit = 1; Unit unit = 2; string name = 3; }
//   Duration           { int64 seconds = 1; int32 nanos = 2; }
// (envoy/service/ratelimit/v3/rls.proto, envoy/extensions/common/ratelimit/v3/ratelimit.proto.)
// The request's hits_addend is left unset: the service then counts one hit per descriptor. A
// synced rule's report sets the descriptor's own hits_addend (newer protos; envoyproxy/ratelimit
// honours it since utils.GetHitsAddends, and counts it instead of the request's).
import { ProtoReader, ProtoWriter } from "../../assembly/encoding/protobuf";

export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
export const RLS_METHOD = "ShouldRateLimit";

/** RateLimitResponse.Code. */
export const CODE_UNKNOWN: u32 = 0;
export const CODE_OK: u32 = 1;
export const CODE_OVER_LIMIT: u32 = 2;

/** One descriptor: its entries as key, value, key, value, ... */
export class Descriptor {
  readonly pairs: string[] = [];
  /** The descriptor's hits_addend; -1: unset (the service counts one hit). */
  hitsAddend: i64 = -1;

  add(key: string, value: string): this {
    this.pairs.push(key);
    this.pairs.push(value);
    return this;
  }
}

/** The writer every request is encoded in (a VM runs one callback at a time); finish() copies it out. */
const REQUEST = new ProtoWriter(256);

/** The encoded RateLimitRequest for `domain` and `descriptors` (in order: statuses answer in the same order). */
export function encodeRateLimitRequest(domain: string, descriptors: Descriptor[]): ArrayBuffer {
  const req = REQUEST.reset();
  req.string(1, domain);
  for (let i = 0; i < descriptors.length; i++) {
    const descriptor = req.begin(2);
    const pairs = descriptors[i].pairs;
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const entry = req.begin(1);
      req.string(1, pairs[k]).string(2, pairs[k + 1]).end(entry);
    }
    if (descriptors[i].hitsAddend >= 0) {
      const addend = req.begin(3);
      req.uint(1, <u64>descriptors[i].hitsAddend).end(addend);
    }
    req.end(descriptor);
  }
  return req.finish();
}

/** What the service said about one descriptor. */
export class DescriptorStatus {
  code: u32 = CODE_UNKNOWN;
  /** current_limit.requests_per_unit; 0 when the service sent no limit. */
  requestsPerUnit: u32 = 0;
  limitRemaining: u32 = 0;
  /** duration_until_reset in ms (rounded up); -1 when absent. */
  resetMs: i64 = -1;
}

export class RateLimitAnswer {
  overall: u32 = CODE_UNKNOWN;
  statuses: DescriptorStatus[] = [];
}

/** A bound on what a Duration can say that keeps ms arithmetic far from overflow (~3 years). */
const MAX_DURATION_S: i64 = 100_000_000;

function readDurationMs(r: ProtoReader): i64 {
  let seconds: i64 = 0;
  let nanos: i64 = 0;
  while (r.next()) {
    if (r.field == 1 && r.wire == 0) seconds = <i64>r.uint();
    else if (r.field == 2 && r.wire == 0) nanos = <i64><i32>r.uint();
    else r.skip();
  }
  if (seconds < 0 || nanos < 0) return 0;
  if (seconds > MAX_DURATION_S) seconds = MAX_DURATION_S;
  if (nanos > 999_999_999) nanos = 999_999_999;
  return seconds * 1000 + (nanos + 999_999) / 1_000_000;
}

function readStatus(r: ProtoReader): DescriptorStatus {
  const s = new DescriptorStatus();
  while (r.next()) {
    if (r.field == 1 && r.wire == 0) s.code = <u32>min<u64>(r.uint(), 0xffffffff);
    else if (r.field == 2 && r.wire == 2) {
      const limit = r.message();
      while (limit.next()) {
        if (limit.field == 1 && limit.wire == 0) s.requestsPerUnit = <u32>min<u64>(limit.uint(), 0xffffffff);
        else limit.skip();
      }
      if (!limit.ok) r.ok = false;
    } else if (r.field == 3 && r.wire == 0) s.limitRemaining = <u32>min<u64>(r.uint(), 0xffffffff);
    else if (r.field == 4 && r.wire == 2) {
      const d = r.message();
      s.resetMs = readDurationMs(d);
      if (!d.ok) r.ok = false;
    } else r.skip();
  }
  return s;
}

/**
 * Decodes a RateLimitResponse of `len` bytes at `ptr`; null when it is not a well-formed message.
 * Keeps at most `maxStatuses` statuses (the filter sends at most that many descriptors; more is
 * the service's mistake, and must not cost memory).
 */
export function decodeRateLimitResponse(ptr: usize, len: usize, maxStatuses: i32): RateLimitAnswer | null {
  const r = new ProtoReader(ptr, len);
  const out = new RateLimitAnswer();
  while (r.next()) {
    if (r.field == 1 && r.wire == 0) out.overall = <u32>min<u64>(r.uint(), 0xffffffff);
    else if (r.field == 2 && r.wire == 2) {
      const m = r.message();
      if (!m.ok) break;
      if (out.statuses.length >= maxStatuses) continue;
      const s = readStatus(m);
      if (!m.ok) {
        r.ok = false;
        break;
      }
      out.statuses.push(s);
    } else r.skip();
  }
  return r.ok ? out : null;
}
