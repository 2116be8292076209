// The native policies: plugins whose `filter:` names one of these run as Envoy's own HTTP
// filters (no Wasm module, no ECDS). Their names share the `filter:` namespace with the suite's
// Wasm filters and take precedence: a dist/filters/<name>.wasm of the same name is never used.
import { type AclModel, aclPolicy } from "./acl.js";
import { type CorsModel, corsPolicy } from "./cors.js";
import { type IpRestrictionModel, ipRestrictionPolicy } from "./ip-restriction.js";
import type { NativePolicy } from "./policy.js";
import { type RequestSizeModel, requestSizePolicy } from "./request-size.js";

export type { NativePolicy } from "./policy.js";

/** A native policy with its model, discriminated by the `filter:` name. */
export type PolicyModel =
  | { filter: "acl"; config: AclModel }
  | { filter: "cors"; config: CorsModel }
  | { filter: "ip-restriction"; config: IpRestrictionModel }
  | { filter: "request-size"; config: RequestSizeModel };

export type NativePolicyName = PolicyModel["filter"];

type Registry = { [N in NativePolicyName]: NativePolicy<Extract<PolicyModel, { filter: N }>["config"]> };

export const NATIVE_POLICIES: Registry = {
  acl: aclPolicy,
  cors: corsPolicy,
  "ip-restriction": ipRestrictionPolicy,
  "request-size": requestSizePolicy,
};

export const NATIVE_POLICY_NAMES = Object.keys(NATIVE_POLICIES) as NativePolicyName[];

export function isNativePolicy(filter: unknown): filter is NativePolicyName {
  return typeof filter === "string" && Object.hasOwn(NATIVE_POLICIES, filter);
}

/** The policy's Envoy filter and its fixed listener-slot config. */
export function policySlot(p: PolicyModel): { envoyFilter: string; typedConfig: object } {
  const policy = NATIVE_POLICIES[p.filter];
  return { envoyFilter: policy.envoyFilter, typedConfig: policy.slotConfig };
}

/** The policy's per-route config (an Any). */
export function policyPerRoute(p: PolicyModel): object {
  switch (p.filter) {
    case "acl":
      return NATIVE_POLICIES.acl.perRoute(p.config);
    case "cors":
      return NATIVE_POLICIES.cors.perRoute(p.config);
    case "ip-restriction":
      return NATIVE_POLICIES["ip-restriction"].perRoute(p.config);
    case "request-size":
      return NATIVE_POLICIES["request-size"].perRoute(p.config);
  }
}
