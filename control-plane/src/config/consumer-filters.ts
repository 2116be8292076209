// Which filters know consumers, named once: the auth filters that receive the gateway's consumers
// in their configs (translate/consumers.ts), whose `anonymous` names a consumer (collections.ts),
// and the native ACL policy that names consumers and groups.
import type { NativePolicyName } from "../policies/index.js";

/** Suite Wasm filters that identify callers as consumers (docs/consumers.md). */
export const AUTH_FILTERS = ["key-auth", "basic-auth", "jwt-auth"] as const;
export type AuthFilter = (typeof AUTH_FILTERS)[number];

export function isAuthFilter(filter: unknown): filter is AuthFilter {
  return typeof filter === "string" && (AUTH_FILTERS as readonly string[]).includes(filter);
}

/** The native policy matching consumers, groups and claims (policies/acl.ts). */
export const ACL_FILTER = "acl" satisfies NativePolicyName;
