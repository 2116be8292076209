// The filters a suite can run, by the name each registers itself under (registerFilter in its
// index.ts, imported by ./index). A member checks its own configuration in its own configure();
// the suite names the errors it keeps (FilterRoot.configErrors) under the member's place.
export const MEMBER_FILTERS: string[] = ["jwt-auth", "key-auth", "basic-auth", "rate-limit", "header-rewrite"];

export function isMemberFilter(name: string): bool {
  return MEMBER_FILTERS.includes(name);
}

export function memberNames(): string {
  return MEMBER_FILTERS.join(", ");
}
