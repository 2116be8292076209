// `filter: ip-restriction` → Envoy's RBAC filter (envoy.filters.http.rbac) with an RBACPerRoute.
// Native because RBAC's `remote_ip` principal is exactly "the client address": the one the
// connection manager computes from the peer and the listener's trusted_hops
// (use_remote_address + xff_num_trusted_hops), never a raw header. Refusals are RBAC's 403.
import { isIP } from "node:net";
import { z } from "zod";
import type { NativePolicy } from "./policy.js";

/** An address block: IPv4 or IPv6, prefixLen ≤ 32 or 128. */
export interface CidrModel {
  address: string;
  prefixLen: number;
}

export interface IpRestrictionModel {
  /** Empty: every address not denied is allowed. */
  allow: CidrModel[];
  /** Wins over allow. */
  deny: CidrModel[];
}

/** "10.0.0.0/8", "2001:db8::/32", or a bare address (one host: /32 or /128). */
export function parseCidr(written: string): CidrModel | string {
  const [address = "", prefix, extra] = written.trim().split("/");
  const family = isIP(address);
  if (extra !== undefined || family === 0) {
    return `invalid address block ${JSON.stringify(written)}: expected an IPv4 or IPv6 address, optionally with /prefix (e.g. "10.0.0.0/8", "2001:db8::/32")`;
  }
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return { address, prefixLen: max };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return `invalid address block ${JSON.stringify(written)}: the prefix length of an IPv${family} block is 0 to ${max}`;
  }
  return { address, prefixLen: Number(prefix) };
}

const cidr = z
  .string()
  .meta({ description: 'An IPv4 or IPv6 address block ("10.0.0.0/8", "2001:db8::/32"); a bare address is one host.' })
  .transform((written, ctx): CidrModel => {
    const parsed = parseCidr(written);
    if (typeof parsed !== "string") return parsed;
    ctx.issues.push({ code: "custom", message: parsed, input: written });
    return z.NEVER;
  });

/** Bounds the RBAC principal Envoy evaluates on every request. */
const MAX_BLOCKS = 1000;

export const ipRestrictionConfigSchema = z
  .strictObject({
    allow: z
      .array(cidr)
      .max(MAX_BLOCKS)
      .prefault([])
      .meta({ description: "Only clients in these blocks are allowed; empty or absent: any client not denied." }),
    deny: z
      .array(cidr)
      .max(MAX_BLOCKS)
      .prefault([])
      .meta({ description: "Clients in these blocks are refused (403), even when also allowed." }),
  })
  .superRefine((c, ctx) => {
    if (c.allow.length === 0 && c.deny.length === 0) {
      ctx.addIssue({ code: "custom", message: "give at least one address block in allow or deny", input: c });
    }
  })
  .meta({ description: "Allow and deny lists of client address blocks, on the trusted client address (see listeners[].trusted_hops)." });

function anyOf(blocks: CidrModel[]): object {
  const ids = blocks.map((b) => ({ remote_ip: { address_prefix: b.address, prefix_len: b.prefixLen } }));
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
}

/** The one principal allowed: in allow (when given) and not in deny (when given). */
function allowedClients(c: IpRestrictionModel): object {
  const allowed = c.allow.length > 0 ? anyOf(c.allow) : null;
  const notDenied = c.deny.length > 0 ? { not_id: anyOf(c.deny) } : null;
  if (allowed && notDenied) return { and_ids: { ids: [allowed, notDenied] } };
  return (allowed ?? notDenied)!;
}

const RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const RBAC_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute";

export const ipRestrictionPolicy: NativePolicy<IpRestrictionModel> = {
  envoyFilter: "envoy.filters.http.rbac",
  description: "Allow and deny lists of client address blocks; refused clients get 403.",
  schema: ipRestrictionConfigSchema,
  // No rules: the filter enforces nothing where no route config replaces them.
  slotConfig: { "@type": RBAC_TYPE },
  perRoute: (c) => ({
    "@type": RBAC_PER_ROUTE_TYPE,
    rbac: {
      rules: {
        action: "ALLOW",
        policies: { "ip-restriction": { permissions: [{ any: true }], principals: [allowedClients(c)] } },
      },
    },
  }),
};
