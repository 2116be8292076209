export { JsonKind, JsonValue, kindName, quoteJson, formatNumber } from "./value";
export { JsonParseResult, parseJson, parseJsonBuffer, parseJsonBytes, DEFAULT_MAX_DEPTH } from "./parse";
