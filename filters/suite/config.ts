// The suite's own configuration: `plugins`, the filters to run in chain order, each with the
// configuration its own filter reads. Only the list is checked here; each member's configuration
// is checked by the member (root.ts), and its errors reported under `plugins[i].config`.
import { ConfigErrors, ObjectReader, indexPath, parseConfigDocument } from "../../assembly/config/reader";
import { JsonValue } from "../../assembly/json";
import { isMemberFilter, memberNames } from "./members";

/** The largest suite configuration: room for the largest member's (key-auth, basic-auth: 4 MiB) and the others. */
export const MAX_CONFIG_BYTES: i32 = 8 * 1024 * 1024;
/** Most plugins in one suite: a chain, not a program. */
export const MAX_PLUGINS: i32 = 16;

export class PluginEntry {
  constructor(
    public readonly filter: string,
    /**
     * The member's configuration: its part of the suite's document, handed to the member's
     * FilterRoot.configureFrom as it is (not written out as JSON for the member to parse again).
     */
    public readonly config: JsonValue,
  ) {}
}

/** The plugins, in chain order; null (with `errors` filled) when the list is unusable. */
export function parseSuiteConfig(buf: ArrayBuffer, errors: ConfigErrors): PluginEntry[] | null {
  const doc = parseConfigDocument(buf, MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const list = top.array("plugins", true, MAX_PLUGINS);
  top.finish();
  if (list === null) return null;
  if (list.length == 0) errors.add("plugins", "must list at least one plugin");
  const entries: PluginEntry[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = ObjectReader.of(list.at(i), indexPath("plugins", i), errors);
    if (item === null) continue;
    const filter = item.string("filter", "", true, 64);
    const named = item.value.get("filter");
    if (named !== null && named.isString && !isMemberFilter(filter)) {
      errors.add(item.at("filter"), "unknown filter \"" + filter + "\"; known: " + memberNames());
    }
    const config = item.object("config", true);
    item.finish();
    if (config !== null && isMemberFilter(filter)) entries.push(new PluginEntry(filter, config.value));
  }
  return errors.empty ? entries : null;
}
