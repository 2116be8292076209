// The `listeners:` section: addresses and ports the gateway accepts requests on, with their TLS.
import { z } from "zod";
import { accessLogSchema } from "./schema-access-log.js";
import { listenerLimitFields } from "./schema-listener-limits.js";
import { checkedString, hostMatch, resourceName, unique } from "./schema-common.js";
import { isIpLiteral } from "./syntax.js";

const certificate = z
  .strictObject({
    cert: z.string().min(1).meta({ description: "PEM certificate chain file, relative to the config file." }),
    key: z.string().min(1).meta({ description: "PEM private key file, relative to the config file." }),
    sni: z
      .array(hostMatch(false))
      .prefault([])
      .transform(unique)
      .meta({ description: 'Server names this certificate answers (exact or "*.suffix"); none: the default certificate.' }),
  })
  .meta({ description: "A certificate and its key." });

const listenerTls = z
  .strictObject({
    // YAML reads an unquoted 1.2 as a number; both spellings mean the same version.
    min_version: z
      .union([z.enum(["1.2", "1.3"]), z.literal(1.2), z.literal(1.3)])
      .prefault("1.2")
      .transform((v) => String(v) as "1.2" | "1.3")
      .meta({ description: "Lowest TLS version accepted." }),
    certificates: z.array(certificate).min(1).meta({ description: "Certificates, chosen by SNI; at most one without sni (the default)." }),
  })
  .meta({ description: "Terminate TLS on this listener." });

export const listenerSchema = z
  .strictObject({
    name: resourceName("Unique name; routes refer to it."),
    address: checkedString((a) => (isIpLiteral(a) ? null : `invalid address "${a}": expected an IPv4 or IPv6 address`))
      .prefault("0.0.0.0")
      .meta({ description: "IP address to bind (0.0.0.0: every IPv4 address; :: every IPv6 address)." }),
    port: z.number().int().min(1).max(65535).meta({ description: "Port to bind, 1 to 65535." }),
    protocols: z
      .array(z.enum(["http1", "http2"]))
      .min(1)
      .prefault(["http1", "http2"])
      .transform(unique)
      .meta({ description: "HTTP versions offered to clients." }),
    tls: listenerTls.optional(),
    access_log: accessLogSchema.optional(),
    ...listenerLimitFields,
    // --- Trusted proxies (edge-plugins): the one place the gateway learns who the client is. ---
    // At most 16: a longer chain of proxies is a misconfiguration, not a deployment.
    trusted_hops: z.number().int().min(0).max(16).prefault(0).meta({
      description:
        "Proxies in front of this listener whose X-Forwarded-For entries are trusted (Envoy's xff_num_trusted_hops), 0 to 16; default 0: the client is the peer, X-Forwarded-For is ignored.",
    }),
    // --- end trusted proxies ---
  })
  .meta({ description: "An address and port where the gateway accepts requests." });

export type ListenerInput = z.output<typeof listenerSchema>;
