// Entry of the plugin checker's worker thread. The control plane is TypeScript run through tsx
// (bin/portico.mjs, vitest): a worker thread does not reliably inherit the parent's loader, so it
// registers tsx itself before importing the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./check-worker.ts");
