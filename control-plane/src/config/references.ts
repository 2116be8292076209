// Checks between values: unique names, unique listener addresses, certificate selection, and
// every reference from a route to a listener, upstream or plugin. Names and references are read
// from the items as written, so an item with some other mistake is still checked here.
import type { Problem } from "./errors.js";
import { XDS_CLUSTER } from "../translate/common.js";
import { singular, type CollectionName as SectionName } from "./collections.js";
import { type Indexed, type ShapeResult, fieldOf as field, listOf } from "./shape.js";

export function checkReferences(shape: ShapeResult): Problem[] {
  const names = {
    listeners: writtenNames(shape.written.listeners),
    routes: writtenNames(shape.written.routes),
    upstreams: writtenNames(shape.written.upstreams),
    plugins: writtenNames(shape.written.plugins),
  };
  return [
    ...(Object.keys(names) as SectionName[]).flatMap((section) => duplicateNames(section, names[section])),
    ...reservedUpstreamNames(names.upstreams),
    ...listenerAddresses(shape),
    ...certificateSelection(shape),
    ...shape.written.routes.flatMap((route, index) => routeReferences(route, index, names)),
  ];
}

function writtenNames(items: unknown[]): Indexed<string>[] {
  return items.flatMap((item, index) => {
    const name = field(item, "name");
    return typeof name === "string" ? [{ index, value: name }] : [];
  });
}

function duplicateNames(section: SectionName, names: Indexed<string>[]): Problem[] {
  const first = new Map<string, number>();
  const problems: Problem[] = [];
  for (const { index, value } of names) {
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, index);
    else problems.push({ path: [section, index, "name"], message: `duplicate name "${value}": ${section}[${earlier}] has it too` });
  }
  return problems;
}

/** Upstreams become Envoy clusters of the same name; the bootstrap's own cluster takes one. */
const RESERVED_CLUSTERS = new Set([XDS_CLUSTER]);

function reservedUpstreamNames(names: Indexed<string>[]): Problem[] {
  return names.filter(({ value }) => RESERVED_CLUSTERS.has(value))
    .map(({ index, value }) => ({ path: ["upstreams", index, "name"], message: `"${value}" is reserved: it is the cluster Envoy reaches the control plane through` }));
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
        else problems.push({ path: at, message: `a second default certificate (no sni): certificates[${defaultAt}] is the default; give this one sni` });
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

type Names = Record<SectionName, Indexed<string>[]>;

function routeReferences(route: unknown, index: number, names: Names): Problem[] {
  const problems: Problem[] = [];
  const at = ["routes", index];
  const check = (kind: SectionName, name: unknown, path: PropertyKey[]) => {
    if (typeof name !== "string" || names[kind].some((n) => n.value === name)) return; // a non-string is a shape error
    const known = [...new Set(names[kind].map((n) => n.value))];
    const list = known.length > 0 ? `known: ${known.join(", ")}` : `no ${kind} are defined`;
    problems.push({ path, message: `no ${singular(kind)} named "${name}" (${list})` });
  };
  const list = (key: string) => listOf(field(route, key));

  list("listeners").forEach((name, n) => check("listeners", name, [...at, "listeners", n]));
  check("upstreams", field(route, "upstream"), [...at, "upstream"]);
  const split = new Map<string, number>();
  list("upstreams").forEach((entry, n) => {
    const name = field(entry, "name");
    check("upstreams", name, [...at, "upstreams", n, "name"]);
    if (typeof name !== "string") return;
    const earlier = split.get(name);
    if (earlier === undefined) split.set(name, n);
    else problems.push({ path: [...at, "upstreams", n, "name"], message: `upstream "${name}" is already listed at upstreams[${earlier}]` });
  });
  list("plugins").forEach((name, n) => check("plugins", name, [...at, "plugins", n]));
  return problems;
}
