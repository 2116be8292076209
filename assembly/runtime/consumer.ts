// The caller's identity ("consumer"): who an auth filter (key-auth, basic-auth, jwt-auth) found
// the caller to be, left for every later filter of the same request.
//
// It travels in Envoy's filter state, written with proxy_set_property: Envoy stores a Wasm
// property `p` as the filter-state object `wasm.p` of this stream, which
//  - a client cannot write (unlike a request header),
//  - every later Wasm filter reads back with proxy_get_property(`p`),
//  - Envoy's own filters read too: RBAC's `filter_state` principal (our ACLs), and access logs
//    as `%FILTER_STATE(wasm.portico_consumer:PLAIN)%`.
// Names have no dots: propertyPath() splits a dotted name into path segments, and Envoy would
// then look for a filter-state object named after the first segment only.
//
// Three objects, so that an ACL matches a name or a group with a plain string match:
//   portico_consumer          the consumer's name ("alice")
//   portico_consumer_groups   its groups between commas (",gold,beta,"; "," for none), so
//                             "is in group g" is `contains ",g,"` and never matches a longer name
//   portico_credential        which credential identified it ("key:alice-laptop", "basic:alice",
//                             "jwt:<provider>", "anonymous")
// Consumer and group names follow the gateway's name rule (a-z, 0-9, "-", "_"), so neither holds
// a comma. The values are encoded once, at configure time (ConsumerIdentity); setting them costs
// three host calls that return nothing (about 0.1 µs each in Envoy).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { PropertyPath, propertyPath, readProperty } from "./properties";
import { hostResultPtr, hostResultSize, releaseHostResult } from "./host";
import { HeaderMap, removeHeaderBytes, setHeaderBytes } from "./headers";

export const CONSUMER_PROPERTY = "portico_consumer";
export const CONSUMER_GROUPS_PROPERTY = "portico_consumer_groups";
export const CREDENTIAL_PROPERTY = "portico_credential";

/** The request headers an auth filter writes for the upstream (and always strips from clients). */
export const CONSUMER_NAME_HEADER = "x-consumer-name";
export const CONSUMER_GROUPS_HEADER = "x-consumer-groups";
export const CREDENTIAL_HEADER = "x-credential-identifier";
export const CONSUMER_HEADERS: string[] = [CONSUMER_NAME_HEADER, CONSUMER_GROUPS_HEADER, CREDENTIAL_HEADER];
/** The credential id of a caller admitted as the `anonymous` consumer. */
export const ANONYMOUS_CREDENTIAL = "anonymous";
export const ANONYMOUS_CREDENTIAL_BYTES: ArrayBuffer = String.UTF8.encode(ANONYMOUS_CREDENTIAL);

const NAME_HEADER_BYTES: ArrayBuffer = String.UTF8.encode(CONSUMER_NAME_HEADER);
const GROUPS_HEADER_BYTES: ArrayBuffer = String.UTF8.encode(CONSUMER_GROUPS_HEADER);
const CREDENTIAL_HEADER_BYTES: ArrayBuffer = String.UTF8.encode(CREDENTIAL_HEADER);

const NAME_PATH: PropertyPath = propertyPath(CONSUMER_PROPERTY);
const GROUPS_PATH: PropertyPath = propertyPath(CONSUMER_GROUPS_PROPERTY);
const CREDENTIAL_PATH: PropertyPath = propertyPath(CREDENTIAL_PROPERTY);

/** `groups` as stored in filter state: ",a,b," (and "," for none). */
export function groupsStateValue(groups: string[]): string {
  return "," + groups.join(",") + (groups.length ? "," : "");
}

/** A groups value as stored (",a,b,") in the x-consumer-groups header form ("a,b"; "" for none). */
export function groupsStateHeader(state: string): string {
  return state.length < 2 ? "" : state.substring(1, state.length - 1);
}

/** Whether a groups value as stored (",a,b,") holds `group`. */
export function groupsStateHas(state: string, group: string): bool {
  return state.includes("," + group + ",");
}

/** A consumer as an auth filter knows it, with everything it writes per request encoded once. */
export class ConsumerIdentity {
  readonly nameBytes: ArrayBuffer;
  readonly groupsBytes: ArrayBuffer;
  /** "gold,beta": the x-consumer-groups header value. */
  readonly groupsHeader: string;

  constructor(public readonly name: string, public readonly groups: string[]) {
    this.nameBytes = String.UTF8.encode(name);
    this.groupsBytes = String.UTF8.encode(groupsStateValue(groups));
    this.groupsHeader = groups.join(",");
  }

  inGroup(group: string): bool {
    return this.groups.includes(group);
  }
}

function setRaw(path: PropertyPath, value: ArrayBuffer): bool {
  return abi.proxy_set_property(changetype<usize>(path.encoded), path.encoded.byteLength, changetype<usize>(value), value.byteLength) == 0;
}

/**
 * Records who the caller is for the rest of the request. `credential`: the encoded credential
 * id ("key:alice-laptop"), built once at configure time. False when Envoy refused (it has no
 * stream: called outside a request).
 */
export function setCaller(consumer: ConsumerIdentity, credential: ArrayBuffer): bool {
  const a = setRaw(NAME_PATH, consumer.nameBytes);
  const b = setRaw(GROUPS_PATH, consumer.groupsBytes);
  const c = setRaw(CREDENTIAL_PATH, credential);
  return a && b && c;
}

/**
 * An auth filter admits the caller as `who`: the identity in filter state for later filters and,
 * when `upstreamHeaders`, x-consumer-name, x-consumer-groups (not for a consumer without groups:
 * an empty value would read as one group named "") and x-credential-identifier for the upstream.
 * `credential` and `credentialText` are the same id, encoded once at configure time.
 */
export function admitCaller(who: ConsumerIdentity, credential: ArrayBuffer, credentialText: string, upstreamHeaders: bool, replacing: bool = false): void {
  setCaller(who, credential);
  // `replacing`: an earlier auth filter identified the caller and wrote its own headers, which
  // this filter left in place (earlierCaller()); none of them may describe the old identity.
  if (!upstreamHeaders) {
    if (replacing) {
      removeHeaderBytes(HeaderMap.RequestHeaders, NAME_HEADER_BYTES);
      removeHeaderBytes(HeaderMap.RequestHeaders, GROUPS_HEADER_BYTES);
      removeHeaderBytes(HeaderMap.RequestHeaders, CREDENTIAL_HEADER_BYTES);
    }
    return;
  }
  setHeaderBytes(HeaderMap.RequestHeaders, NAME_HEADER_BYTES, who.name);
  if (who.groups.length) setHeaderBytes(HeaderMap.RequestHeaders, GROUPS_HEADER_BYTES, who.groupsHeader);
  else if (replacing) removeHeaderBytes(HeaderMap.RequestHeaders, GROUPS_HEADER_BYTES);
  setHeaderBytes(HeaderMap.RequestHeaders, CREDENTIAL_HEADER_BYTES, credentialText);
}

/**
 * Whether an auth filter earlier in the chain already identified the caller, asked only by a
 * filter configured with `anonymous` (one host call, none otherwise). That is Kong's pattern
 * for "a key or a token": every auth filter of the route has `anonymous`; a caller one of them
 * identified keeps that identity through the others unless their own credential is present and
 * valid, and the identity headers on the request are that filter's (it removed the client's),
 * so the later ones leave them alone.
 */
export function earlierCaller(anonymousConfigured: bool): bool {
  return anonymousConfigured && callerName() !== null;
}

function readString(path: PropertyPath): string | null {
  if (!readProperty(path)) return null;
  const s = String.UTF8.decodeUnsafe(hostResultPtr(), hostResultSize());
  releaseHostResult();
  return s;
}

/** The consumer an earlier auth filter identified, or null when none did. One host call. */
export function callerName(): string | null {
  return readString(NAME_PATH);
}

/** The caller's groups as stored (",a,b,"), or null when no auth filter identified the caller. */
export function callerGroupsState(): string | null {
  return readString(GROUPS_PATH);
}

/** The credential id that identified the caller ("key:alice-laptop"), or null. */
export function callerCredential(): string | null {
  return readString(CREDENTIAL_PATH);
}
