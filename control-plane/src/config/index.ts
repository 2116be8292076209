// The config loader: YAML or JSON text → a validated GatewayModel, or every error, located.
export { loadGatewayConfig, loadGatewayFile, type LoadOptions, type LoadResult } from "./load.js";
export { formatConfigErrors, type ConfigError } from "./errors.js";
export type { PluginChecker, PluginCheckResult } from "./plugin-check.js";
export { gatewayJsonSchema } from "./json-schema.js";
export { parseDuration } from "./durations.js";
