#!/usr/bin/env node
// The `portico` command. The control plane is TypeScript run through tsx's loader, so the
// sources are what runs (no separate build step to forget).
import { register } from "tsx/esm/api";

register();
const { cli } = await import("../control-plane/src/cli/main.ts");
await cli(process.argv.slice(2));
