import { test } from 'node:test';
import { SKIP_REASON } from '../lib/cluster.js';
import { agentKillDuringBackup, runOps } from './scenarios.js';

test("the agent running a backup's manticore-backup SIGKILLed: the backup retries or fails cleanly, nothing frozen, no partial archive, a later backup works", { skip: SKIP_REASON, timeout: 300_000 }, (t) => runOps(t, 'agent-kill-backup', 'fakb', (fc) => agentKillDuringBackup(fc, t)));
