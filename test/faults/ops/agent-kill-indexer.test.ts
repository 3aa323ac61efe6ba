import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { agentKillDuringBuild, runOps } from './scenarios.js';

test("the agent running an indexer build SIGKILLed: the import finishes or fails with the old slot serving everywhere, every acked write kept", { skip: SKIP_REASON, timeout: 300_000 }, (t) => runOps(t, 'agent-kill-indexer', 'faki', (fc) => agentKillDuringBuild(fc, t)));
