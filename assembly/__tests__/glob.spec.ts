import { globMatches, PathMatcher, PathMatchKind, stripQuery } from "../match";

describe("globMatches", () => {
  it("matches literal paths exactly", () => {
    expect(globMatches("/a/b", "/a/b")).toBe(true);
    expect(globMatches("/a/b", "/a/bc")).toBe(false);
    expect(globMatches("/a/b", "/a")).toBe(false);
  });

  it("keeps * inside one segment", () => {
    expect(globMatches("/api/*/users", "/api/v1/users")).toBe(true);
    expect(globMatches("/api/*/users", "/api/v1/x/users")).toBe(false);
    expect(globMatches("/api/*", "/api/")).toBe(true);
    expect(globMatches("/api/*", "/api/a/b")).toBe(false);
    expect(globMatches("/*.json", "/data.json")).toBe(true);
    expect(globMatches("/*.json", "/dir/data.json")).toBe(false);
  });

  it("lets ** cross segments", () => {
    expect(globMatches("/api/**", "/api/a/b/c")).toBe(true);
    expect(globMatches("/api/**", "/api/")).toBe(true);
    expect(globMatches("/api/**", "/api")).toBe(false);
    expect(globMatches("/**/*.png", "/img/a/b.png")).toBe(true);
    expect(globMatches("/**/*.png", "/img/a/b.png/x")).toBe(false);
    expect(globMatches("/a/**/z/*", "/a/b/c/z/q")).toBe(true);
    expect(globMatches("/a/**/z/*", "/a/b/z/c/z/q")).toBe(true);
    expect(globMatches("/a/**/z/*", "/a/b/z/c/q")).toBe(false);
  });

  it("backtracks a single star to an earlier double star", () => {
    // The `*` cannot cross '/', so the `**` before it has to absorb "x/".
    expect(globMatches("/**/a*b", "/x/ayb")).toBe(true);
    expect(globMatches("/**/a*b", "/x/a/yb")).toBe(false);
    expect(globMatches("/**a*b", "/q/a/ab")).toBe(true);
  });

  it("treats ? as one non-slash character", () => {
    expect(globMatches("/v?/x", "/v1/x")).toBe(true);
    expect(globMatches("/v?/x", "/v//x")).toBe(false);
    expect(globMatches("/v?/x", "/v12/x")).toBe(false);
  });
});

describe("PathMatcher", () => {
  it("supports exact, prefix, suffix and glob", () => {
    expect(new PathMatcher(PathMatchKind.Exact, "/a").matches("/a")).toBe(true);
    expect(new PathMatcher(PathMatchKind.Exact, "/a").matches("/a/")).toBe(false);
    expect(new PathMatcher(PathMatchKind.Prefix, "/a/").matches("/a/b")).toBe(true);
    expect(new PathMatcher(PathMatchKind.Prefix, "/a/").matches("/ab")).toBe(false);
    expect(new PathMatcher(PathMatchKind.Suffix, ".css").matches("/s/x.css")).toBe(true);
    expect(new PathMatcher(PathMatchKind.Glob, "/s/*.css").matches("/s/x.css")).toBe(true);
  });

  it("strips the query and fragment", () => {
    expect(stripQuery("/a/b?x=1")).toBe("/a/b");
    expect(stripQuery("/a#f?x")).toBe("/a");
    expect(stripQuery("/a")).toBe("/a");
  });
});
