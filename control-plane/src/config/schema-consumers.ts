// The `consumers:` section: the callers the gateway knows by name, their groups, metadata and
// credentials (API keys, basic-auth users, JWT mappings). The auth filters receive them in their
// configs (translate/consumers.ts); docs/consumers.md is the contract. Secrets are never quoted
// in an error message: messages reach logs and admin API answers.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ConsumerModel, JwtMappingModel } from "../model/types.js";
import { passwordHashError } from "./password-hash.js";
import { ALSO_WITH_OTHER_ISSUES, checkedString, exactlyOne, resourceName, unique } from "./schema-common.js";

/** The filters' bounds (assembly/config/consumers.ts): names and groups, groups per consumer. */
export const MAX_CONSUMER_NAME = 64;
export const MAX_GROUPS = 64;
/** Credentials of one kind per consumer (a key per device or rotation, not per request). */
export const MAX_CREDENTIALS = 100;
const MAX_METADATA = 32;
const MAX_METADATA_VALUE = 256;
const MIN_KEY = 8;
const MAX_KEY = 1024;
const MAX_ISSUER = 1024;

/** A consumer or group name: the name rule, at most 64 characters (it is a header value and a metric tag). */
export const consumerName = (description: string) =>
  resourceName(description).max(MAX_CONSUMER_NAME, { error: `must have at most ${MAX_CONSUMER_NAME} characters` });

/** A JWT claim name the filters can write to filter state (portico_claim_<claim>). */
export const CLAIM_NAME_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
export const claimName = z
  .string()
  .regex(new RegExp(CLAIM_NAME_PATTERN), { error: (issue) => claimNameError(String(issue.input)) })
  .meta({ description: "A top-level JWT claim name." });

function claimNameError(claim: string): string {
  return `invalid claim name ${JSON.stringify(claim)}: 1 to 64 characters of a-z, A-Z, 0-9, "_" and "-" (a top-level claim)`;
}

/**
 * A map whose keys must pass `keyError` (a message, or null): each bad key reported at itself
 * (zod's own record keys say only "Invalid key in record").
 */
export function checkedRecord<V extends z.ZodType>(pattern: string, keyError: (key: string) => string, value: V) {
  const re = new RegExp(pattern);
  return z.record(z.string().meta({ pattern }), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record))
      if (!re.test(key)) ctx.addIssue({ code: "custom", path: [key], message: keyError(key), input: key });
  });
}

/** A map keyed by claim name. */
export function claimRecord<V extends z.ZodType>(value: V) {
  return checkedRecord(CLAIM_NAME_PATTERN, claimNameError, value);
}

/** SHA-256 of an API key, hex (how a key leaves the control plane, docs/consumers.md). */
export function keyDigest(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A secret string: refused without quoting it (not even its type's value). */
function secretString(check: (value: string) => string | null, description: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .superRefine((value, ctx) => {
      const message = check(value);
      if (message !== null) ctx.addIssue({ code: "custom", message, input: "[secret]" });
    })
    .meta({ description, writeOnly: true });
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** null when `key` is an acceptable API key; else why not (never quoting it). */
export function apiKeyError(key: string): string | null {
  return key.length < MIN_KEY || key.length > MAX_KEY || !VISIBLE_ASCII.test(key)
    ? `an API key is ${MIN_KEY} to ${MAX_KEY} visible ASCII characters (no spaces)`
    : null;
}

const apiKey = secretString(
  apiKeyError,
  "The API key itself. Write-only: the admin API stores its SHA-256 (key_sha256) instead and never returns either.",
);

const keySha256 = secretString(
  (digest) => (/^[0-9a-fA-F]{64}$/.test(digest) ? null : 'must be 64 hex digits: the SHA-256 of the key (printf %s "$KEY" | sha256sum)'),
  "The API key's SHA-256, 64 hex digits. Write-only: never returned by the admin API.",
);

const passwordHash = secretString(
  passwordHashError,
  'The password as an htpasswd hash: bcrypt ("$2y$", cost 4 to 14; htpasswd -B) or SHA-1 ("{SHA}"). Write-only.',
);

const keyCredential = z
  .strictObject({
    id: consumerName("Names the key in x-credential-identifier (key:<id>), metrics and logs; unique across consumers."),
    key: apiKey.optional(),
    key_sha256: keySha256.optional(),
  })
  .superRefine(exactlyOne(["key", "key_sha256"]), ALSO_WITH_OTHER_ISSUES)
  .transform((k) => ({ id: k.id, sha256: k.key_sha256?.toLowerCase() ?? keyDigest(k.key!) }))
  .meta({ description: "An API key: id plus exactly one of key (the key) or key_sha256 (its SHA-256)." });

/** RFC 7617: the user-id has no ":"; visible ASCII keeps it a safe header value (x-credential-identifier). */
const username = checkedString((u) =>
  /^[\x21-\x39\x3b-\x7e]{1,256}$/.test(u) ? null : 'a username is 1 to 256 visible ASCII characters without ":"',
).meta({ description: "The basic-auth user name; unique across consumers." });

const basicCredential = z
  .strictObject({ username, password_hash: passwordHash })
  .transform((b) => ({ username: b.username, hash: b.password_hash }))
  .meta({ description: "A basic-auth user: username and password_hash." });

const issuer = z.string().min(1).max(MAX_ISSUER).meta({ description: "The token's iss, as a jwt-auth provider names it." });
const claimValue = z.string().min(1).max(MAX_ISSUER);

const jwtCredential = z
  .strictObject({
    issuer,
    subject: claimValue.optional().meta({ description: "The token's sub." }),
    claim: claimName.optional().meta({ description: "A top-level claim whose value identifies the consumer (with value)." }),
    value: claimValue.optional().meta({ description: "The claim's value (with claim)." }),
  })
  .superRefine((j, ctx) => {
    const bySubject = j.subject !== undefined;
    const byClaim = j.claim !== undefined || j.value !== undefined;
    if (bySubject === byClaim) {
      ctx.addIssue({ code: "custom", message: "give subject, or claim and value (they are alternatives)", input: j });
    } else if (byClaim && (j.claim === undefined || j.value === undefined)) {
      ctx.addIssue({ code: "custom", path: [j.claim === undefined ? "claim" : "value"], message: "claim and value go together", input: j });
    }
  }, ALSO_WITH_OTHER_ISSUES)
  .transform(
    (j): JwtMappingModel =>
      j.subject !== undefined ? { issuer: j.issuer, subject: j.subject } : { issuer: j.issuer, claim: j.claim!, value: j.value! },
  )
  .meta({ description: "A JWT caller who is this consumer: issuer plus subject (sub), or issuer plus claim and value." });

const credentials = z
  .strictObject({
    keys: z.array(keyCredential).max(MAX_CREDENTIALS).prefault([]).meta({ description: "API keys (key-auth)." }),
    basic: z.array(basicCredential).max(MAX_CREDENTIALS).prefault([]).meta({ description: "Basic-auth users (basic-auth)." }),
    jwt: z.array(jwtCredential).max(MAX_CREDENTIALS).prefault([]).meta({ description: "JWT mappings (jwt-auth)." }),
  })
  .prefault({})
  .meta({ description: "How the consumer proves who it is; several kinds and several of each may be given." });

export const consumerSchema = z
  .strictObject({
    name: consumerName("Unique name; ACLs, anonymous and the identity headers use it."),
    groups: z
      .array(consumerName("A group name."))
      .max(MAX_GROUPS)
      .prefault([])
      .transform(unique)
      .meta({ description: "Groups the consumer belongs to (ACLs and rate limits by group)." }),
    metadata: checkedRecord(
      "^[A-Za-z0-9_.-]{1,64}$",
      (key) => `invalid metadata key ${JSON.stringify(key)}: 1 to 64 letters, digits, "_", "." and "-"`,
      z.string().max(MAX_METADATA_VALUE),
    )
      .prefault({})
      .superRefine((m, ctx) => {
        if (Object.keys(m).length > MAX_METADATA) ctx.addIssue({ code: "custom", message: `at most ${MAX_METADATA} entries`, input: m });
      })
      .meta({ description: "Free string metadata (e.g. tier: gold), at most 32 entries of at most 256 characters." }),
    credentials,
  })
  .transform(
    (c): ConsumerModel => ({
      name: c.name,
      groups: c.groups,
      metadata: c.metadata,
      keys: c.credentials.keys,
      basic: c.credentials.basic,
      jwt: c.credentials.jwt,
    }),
  )
  .meta({ description: "A caller the gateway knows by name, with groups, metadata and credentials (docs/consumers.md)." });
