// Checks between values that are not references: unique names, reserved names, unique listener
// addresses, certificate selection, and a split listing an upstream twice. Names are read from
// the items as written, so an item with some other mistake is still checked here. References
// (a name that must exist) are the reference graph's (references.ts).
import type { Problem } from "./errors.js";
import { NO_ROUTE, RATE_LIMIT_CLUSTER, XDS_CLUSTER } from "../translate/common.js";
import { COLLECTION_NAMES, type CollectionName } from "./collections.js";
import { checkConsumers } from "./consumer-relations.js";
import { type Indexed, type ShapeResult, fieldOf as field, listOf, writtenNames } from "./shape.js";

export function checkRelations(shape: ShapeResult): Problem[] {
  return [
    ...COLLECTION_NAMES.flatMap((collection) => duplicateNames(collection, writtenNames(shape.written[collection]))),
    ...COLLECTION_NAMES.flatMap((collection) => reservedNames(collection, writtenNames(shape.written[collection]))),
    ...listenerAddresses(shape),
    ...certificateSelection(shape),
    ...shape.written.routes.flatMap((route, index) => splitEntries(route, index)),
    ...checkConsumers(shape),
  ];
}

function duplicateNames(section: CollectionName, names: Indexed<string>[]): Problem[] {
  const first = new Map<string, number>();
  const problems: Problem[] = [];
  for (const { index, value } of names) {
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, index);
    else problems.push({ path: [section, index, "name"], message: `duplicate name "${value}": ${section}[${earlier}] has it too` });
  }
  return problems;
}

/**
 * Names the translation takes for resources of its own, by collection: upstreams become Envoy
 * clusters and routes Envoy routes of the same name, and the bootstrap's cluster and the route
 * ending every virtual host take one each.
 */
const RESERVED: Partial<Record<CollectionName, Record<string, string>>> = {
  upstreams: {
    [XDS_CLUSTER]: "the cluster Envoy reaches the control plane through",
    [RATE_LIMIT_CLUSTER]: "the cluster of the rate limit service global rate limits use",
  },
  routes: { [NO_ROUTE]: "the route answering 404 to requests that match no route" },
};

function reservedNames(collection: CollectionName, names: Indexed<string>[]): Problem[] {
  const reserved = RESERVED[collection] ?? {};
  return names
    .filter(({ value }) => Object.hasOwn(reserved, value))
    .map(({ index, value }) => ({
      path: [collection, index, "name"],
      message: `"${value}" is reserved: it is ${reserved[value]}`,
    }));
}

function listenerAddresses({ sections }: ShapeResult): Problem[] {
  const taken = new Map<string, string>();
  const problems: Problem[] = [];
  for (const { index, value } of sections.listeners) {
    const key = `${value.address.includes(":") ? `[${value.address}]` : value.address}:${value.port}`;
    const owner = taken.get(key);
    if (owner === undefined) taken.set(key, value.name);
    else problems.push({ path: ["listeners", index, "port"], message: `${key} is already used by listener "${owner}"` });
  }
  return problems;
}

function certificateSelection({ sections }: ShapeResult): Problem[] {
  const problems: Problem[] = [];
  for (const { index, value } of sections.listeners) {
    let defaultAt: number | undefined;
    const servedBy = new Map<string, number>();
    (value.tls?.certificates ?? []).forEach((certificate, c) => {
      const at = ["listeners", index, "tls", "certificates", c];
      if (certificate.sni.length === 0) {
        if (defaultAt === undefined) defaultAt = c;
        else
          problems.push({
            path: at,
            message: `a second default certificate (no sni): certificates[${defaultAt}] is the default; give this one sni`,
          });
      }
      certificate.sni.forEach((name, n) => {
        const earlier = servedBy.get(name);
        if (earlier === undefined) servedBy.set(name, c);
        else problems.push({ path: [...at, "sni", n], message: `"${name}" is already served by certificates[${earlier}]` });
      });
    });
  }
  return problems;
}

/** A weighted split names each upstream once. */
function splitEntries(route: unknown, index: number): Problem[] {
  const problems: Problem[] = [];
  const split = new Map<string, number>();
  listOf(field(route, "upstreams")).forEach((entry, n) => {
    const name = field(entry, "name");
    if (typeof name !== "string") return;
    const earlier = split.get(name);
    if (earlier === undefined) split.set(name, n);
    else
      problems.push({
        path: ["routes", index, "upstreams", n, "name"],
        message: `upstream "${name}" is already listed at upstreams[${earlier}]`,
      });
  });
  return problems;
}
