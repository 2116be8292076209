// The filters a suite can run, each with its own configuration check: the suite names a member's
// errors by the member's own rules (its config.ts), under the member's place in `plugins`. The
// filters themselves come from the registry (each filter's index.ts registers itself).
import { ConfigErrors } from "../../assembly/config/reader";
import { parseBasicAuthConfig } from "../basic-auth/config";
import { parseHeaderRewriteConfig } from "../header-rewrite/config";
import { parseJwtConfig } from "../jwt-auth/config";
import { parseKeyAuthConfig } from "../key-auth/config";
import { parseRateLimitConfig } from "../rate-limit/config";

type Validate = (config: ArrayBuffer, errors: ConfigErrors) => bool;

export class MemberKind {
  constructor(
    /** The filter's root_id, as it registers itself (registerFilter). */
    public readonly name: string,
    /** Runs the filter's own configuration parser, collecting its errors. */
    public readonly validate: Validate,
  ) {}
}

export const MEMBER_KINDS: MemberKind[] = [
  new MemberKind("jwt-auth", (b: ArrayBuffer, e: ConfigErrors): bool => parseJwtConfig(b, e) !== null),
  new MemberKind("key-auth", (b: ArrayBuffer, e: ConfigErrors): bool => parseKeyAuthConfig(b, e) !== null),
  new MemberKind("basic-auth", (b: ArrayBuffer, e: ConfigErrors): bool => parseBasicAuthConfig(b, e) !== null),
  new MemberKind("rate-limit", (b: ArrayBuffer, e: ConfigErrors): bool => parseRateLimitConfig(b, e) !== null),
  new MemberKind("header-rewrite", (b: ArrayBuffer, e: ConfigErrors): bool => parseHeaderRewriteConfig(b, e) !== null),
];

export function memberKind(name: string): MemberKind | null {
  for (let i = 0; i < MEMBER_KINDS.length; i++) if (MEMBER_KINDS[i].name == name) return MEMBER_KINDS[i];
  return null;
}

export function memberNames(): string {
  const names = new Array<string>(MEMBER_KINDS.length);
  for (let i = 0; i < MEMBER_KINDS.length; i++) names[i] = MEMBER_KINDS[i].name;
  return names.join(", ");
}
