import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { diskFullDuringImport, runOps } from './scenarios.js';

test("a node's disk full during IMPORT TABLE: the import fails with ENOSPC, the old slot serves on every node, no half-imported slot; works once space is back", { skip: SKIP_REASON, timeout: 300_000 }, (t) => runOps(t, 'disk-full-import', 'fdfi', (fc) => diskFullDuringImport(fc, t)));
