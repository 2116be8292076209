// Base classes for Portico filters, on top of the SDK's RootContext/Context (so code written
// for the SDK's API carries over). They replace the SDK defaults that build debug strings and
// write them to WASI stdout on every request (onLog/onDone/onDelete), and hand the plugin
// configuration to the filter as bytes, which is what a JSON parser wants.
import {
  BufferTypeValues,
  Context,
  get_buffer_bytes,
  RootContext,
} from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { ConfigErrors, ConfigSource } from "../config/reader";
import { logError } from "./log";

export class FilterRoot extends RootContext {
  /** Why the last configure() refused (refuseConfig); null when it did not. */
  configErrors: ConfigErrors | null = null;

  /** Parses and applies the plugin configuration; return false to make Envoy reject it. */
  configure(config: ArrayBuffer): bool {
    return this.configureFrom(ConfigSource.ofBytes(config));
  }

  /**
   * The same, from bytes or from a document parsed already: a filter that can run in a suite
   * (filters/suite) overrides this rather than configure(), so the suite can hand it its part of
   * the suite's document without writing it out and parsing it again.
   */
  configureFrom(source: ConfigSource): bool {
    return true;
  }

  /**
   * What configure() returns for a configuration it refuses: logs why (Envoy rejects the filter
   * when configure fails; the line tells the operator why) and keeps the errors, so a filter that
   * runs this one (filters/suite) can name them under its own place for them.
   */
  refuseConfig(filter: string, errors: ConfigErrors): bool {
    logError(errors.format(filter));
    this.configErrors = errors;
    return false;
  }

  /** The per-request context; subclasses return their stream class. */
  newStream(contextId: u32): FilterStream {
    return new FilterStream(contextId, this);
  }

  createContext(context_id: u32): Context {
    return this.newStream(context_id);
  }

  onConfigure(configuration_size: u32): bool {
    const config = configuration_size == 0
      ? new ArrayBuffer(0)
      : get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, configuration_size);
    return this.configure(config);
  }

  validateConfiguration(configuration_size: usize): bool { return true; }
  onStart(vm_configuration_size: usize): bool { return true; }
  onTick(): void {}
  onQueueReady(token: u32): void {}
  onDone(): bool {
    this.cancelPendingRequests();
    return true;
  }
  onDelete(): void {}
}

export class FilterStream extends Context {
  constructor(context_id: u32, root: FilterRoot) {
    super(context_id, root);
  }

  onLog(): void {}
  onDone(): bool { return true; }
  onDelete(): void {}
}
