// Which root context serves which plugin, and which stream belongs to which root.
//
// The SDK keeps one global root context and looks streams up in a Map that never holds root
// contexts, so (a) two plugins sharing a VM (Envoy shares one when vm_config is identical)
// overwrite each other's configuration, and (b) proxy_on_done for a root context aborts the VM
// on a missing key. Here every root context id gets its own instance, chosen by the plugin's
// `root_id` when a module registers several filters.
import { Context, RootContext } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { getPropertyString, propertyPath } from "./properties";
import { logError } from "./log";

export type RootFactory = (contextId: u32) => RootContext;

const factoryNames = new Array<string>();
const factories = new Array<RootFactory>();
const roots = new Map<u32, RootContext>();
const streams = new Map<u32, Context>();
const PLUGIN_ROOT_ID = propertyPath("plugin_root_id");

/** Registers a filter implementation under the `root_id` Envoy configs may name. */
export function registerFilter(rootId: string, factory: RootFactory): void {
  factoryNames.push(rootId);
  factories.push(factory);
}

/**
 * The factory registered under `rootId`, null if none: how filters/suite creates the filters it
 * runs (each registers itself when its module is imported).
 */
export function factoryFor(rootId: string): RootFactory | null {
  for (let i = 0; i < factoryNames.length; i++) {
    if (factoryNames[i] == rootId) return factories[i];
  }
  return null;
}

function pickFactory(): RootFactory | null {
  if (factories.length == 1) return factories[0];
  const wanted = getPropertyString(PLUGIN_ROOT_ID);
  const name = wanted === null ? "" : wanted;
  const factory = factoryFor(name);
  if (factory !== null) return factory;
  logError("no filter registered for root_id \"" + name + "\"; known: " + factoryNames.join(", "));
  return null;
}

export function createRoot(contextId: u32): void {
  const factory = pickFactory();
  if (factory === null) return;
  roots.set(contextId, factory(contextId));
}

export function createStream(contextId: u32, rootId: u32): void {
  if (!roots.has(rootId)) {
    logError("stream " + contextId.toString() + " names unknown root context " + rootId.toString());
    return;
  }
  streams.set(contextId, roots.get(rootId).createContext(contextId));
}

export function findRoot(contextId: u32): RootContext | null {
  return roots.has(contextId) ? roots.get(contextId) : null;
}

export function findStream(contextId: u32): Context | null {
  return streams.has(contextId) ? streams.get(contextId) : null;
}

export function forget(contextId: u32): void {
  if (!streams.delete(contextId)) roots.delete(contextId);
}
