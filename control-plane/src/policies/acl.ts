// `filter: acl` → Envoy's RBAC filter (envoy.filters.http.rbac) with an RBACPerRoute, matching
// the caller identity the auth filters leave in filter state (docs/consumers.md): the consumer's
// name (`wasm.portico_consumer`), its groups (`wasm.portico_consumer_groups`, ",gold,beta,") and
// jwt-auth's claims (`wasm.portico_claim_<claim>`, ",admin,"). Native rather than a Wasm filter:
// RBAC's `filter_state` principal reads exactly those objects, runs no Wasm (no VM, no host calls
// per request), and a client cannot reach filter state, so the check cannot be forged. The
// auth filter must come earlier in the chain (plugins run in `plugins:` order). Refusals are
// RBAC's 403.
import { z } from "zod";
import { claimRecord, consumerName } from "../config/schema-consumers.js";
import type { NativePolicy } from "./policy.js";

export interface AclRuleModel {
  consumers: string[];
  groups: string[];
  /** A token whose claim holds any of the values matches. */
  claims: { claim: string; values: string[] }[];
}

export interface AclModel {
  /** null: any caller not denied is allowed (consumer or not). */
  allow: AclRuleModel | null;
  /** Wins over allow. */
  deny: AclRuleModel | null;
}

/** Filter-state keys as RBAC names them (Wasm properties are stored under "wasm."). */
export const CONSUMER_STATE = "wasm.portico_consumer";
export const GROUPS_STATE = "wasm.portico_consumer_groups";
export const claimState = (claim: string) => `wasm.portico_claim_${claim}`;

/** Bounds the principals RBAC evaluates per request. */
const MAX_NAMES = 1000;
const MAX_CLAIM_VALUES = 100;

/** Values are matched between commas (",admin,"), so a comma inside one could never match. */
const claimValue = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^,]*$/, { error: 'a claim value cannot hold ","' });

const rule = (what: string) =>
  z
    .strictObject({
      consumers: z
        .array(z.string().min(1).meta({ description: "A consumer's name (consumers:)." }))
        .max(MAX_NAMES)
        .prefault([])
        .meta({ description: `Consumers ${what}.` }),
      groups: z
        .array(consumerName("A group some consumer is in."))
        .max(MAX_NAMES)
        .prefault([])
        .meta({ description: `Consumers in any of these groups are ${what}.` }),
      claims: claimRecord(z.array(claimValue).min(1).max(MAX_CLAIM_VALUES))
        .prefault({})
        .meta({ description: `JWT callers whose claim holds any of the values are ${what} (jwt-auth writes the claim to filter state).` }),
    })
    .superRefine((r, ctx) => {
      if (r.consumers.length + r.groups.length + Object.keys(r.claims).length === 0)
        ctx.addIssue({ code: "custom", message: "give at least one of consumers, groups or claims", input: r });
    })
    .transform(
      (r): AclRuleModel => ({
        consumers: [...new Set(r.consumers)],
        groups: [...new Set(r.groups)],
        claims: Object.entries(r.claims).map(([claim, values]) => ({ claim, values: [...new Set(values)] })),
      }),
    );

export const aclConfigSchema = z
  .strictObject({
    allow: rule("allowed").optional().meta({
      description: "Only callers matching this are allowed (a request with no consumer matches nothing); absent: any caller not denied.",
    }),
    deny: rule("refused (403), even when also allowed").optional().meta({ description: "Callers matching this are refused (403)." }),
  })
  .superRefine((c, ctx) => {
    if (c.allow === undefined && c.deny === undefined) ctx.addIssue({ code: "custom", message: "give allow, deny or both", input: c });
  })
  .transform((c): AclModel => ({ allow: c.allow ?? null, deny: c.deny ?? null }))
  .meta({ description: "Allow and deny lists of consumers, groups and JWT claim values; deny wins; refused callers get 403." });

function stateMatch(key: string, match: object): object {
  return { filter_state: { key, string_match: match } };
}

/** The principal matching any entry of a rule. */
function anyOf(r: AclRuleModel): object {
  const ids = [
    ...r.consumers.map((name) => stateMatch(CONSUMER_STATE, { exact: name })),
    ...r.groups.map((group) => stateMatch(GROUPS_STATE, { contains: `,${group},` })),
    ...r.claims.flatMap(({ claim, values }) => values.map((v) => stateMatch(claimState(claim), { contains: `,${v},` }))),
  ];
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
}

/** The one principal allowed: matching allow (when given) and not matching deny (when given). */
function allowedCallers(c: AclModel): object {
  const allowed = c.allow ? anyOf(c.allow) : null;
  const notDenied = c.deny ? { not_id: anyOf(c.deny) } : null;
  if (allowed && notDenied) return { and_ids: { ids: [allowed, notDenied] } };
  return (allowed ?? notDenied)!;
}

/** Every claim an ACL matches: jwt-auth must write them to filter state. */
export function aclClaims(c: AclModel): string[] {
  return [...(c.allow?.claims ?? []), ...(c.deny?.claims ?? [])].map((x) => x.claim);
}

const RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const RBAC_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute";

export const aclPolicy: NativePolicy<AclModel> = {
  envoyFilter: "envoy.filters.http.rbac",
  description: "Allow and deny lists of consumers, groups and JWT claims (the identity an auth filter set); refused callers get 403.",
  schema: aclConfigSchema,
  // No rules: the filter enforces nothing where no route config replaces them.
  slotConfig: { "@type": RBAC_TYPE },
  perRoute: (c) => ({
    "@type": RBAC_PER_ROUTE_TYPE,
    rbac: { rules: { action: "ALLOW", policies: { acl: { permissions: [{ any: true }], principals: [allowedCallers(c)] } } } },
  }),
};
