// Marks the compiled entry points executable so they can be started like real binaries
// (the conformance suite runs SEARCHD_BIN=dist/src/sim/bin/searchd-sim.js directly).
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

for (const dir of ['dist/src/sim/bin', 'dist/src/bin']) {
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.js')) chmodSync(join(dir, name), 0o755);
  }
}
