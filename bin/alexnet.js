#!/usr/bin/env node
// The `alexnet` command: a thin launcher for the compiled CLI (src/cli/main.ts).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv));
