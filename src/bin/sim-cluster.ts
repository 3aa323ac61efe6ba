/**
 * `npm run sim:cluster`: a bare local 3-node cluster (no controller) on loopback — the simulator by default, real Manticore
 * when SEARCHD_BIN (and INDEXER_BIN / MANTICORE_BACKUP_BIN) name real binaries. Forms cluster
 * `dev`, creates an example table in it, prints how to connect, and runs until Ctrl-C, then
 * stops every node cleanly (`--stopwait`).
 *
 * Options (env): DEV_NODES (default 3), DEV_DIR (default a fresh dir under the OS temp dir; kept
 * on exit so the data can be looked at), CONFORMANCE_TIME_FACTOR (timeouts, see README).
 */
import { existsSync, mkdtempSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster, resolveBinaries } from '../sim/launcher.js';

/** Entry-point output for people (stdout); logs go through winston. */
function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<void> {
  const size = Number(process.env.DEV_NODES ?? '3');
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`DEV_NODES must be an integer 1..9, got '${process.env.DEV_NODES}'`);
  const dir = process.env.DEV_DIR ? path.resolve(process.env.DEV_DIR) : mkdtempSync(path.join(os.tmpdir(), 'mco-dev-'));
  if (existsSync(path.join(dir, 'node0'))) {
    throw new Error(`DEV_DIR ${dir} already holds nodes from an earlier run; remove it or name another directory (restarting a kept cluster is not supported yet)`);
  }
  mkdirSync(dir, { recursive: true });
  const binaries = resolveBinaries();
  const cluster = new LocalCluster({ dir, size, binaries, detached: true });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping ${size} nodes cleanly (--stopwait)...`);
    try {
      // the reverse order makes node0 the last to leave: restart it with --new-cluster
      for (const n of [...cluster.nodes].reverse()) if (n.running) await n.stopWait();
      say(`stopped. Data kept in ${dir}`);
      process.exit(0);
    } catch (err) {
      console.error(`clean stop failed: ${err instanceof Error ? err.message : String(err)}; killing`);
      await cluster.killAll();
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  say(`starting ${size} ${binaries.isSimulator ? 'simulated' : 'real'} searchd nodes (${binaries.searchd}) in ${dir}`);
  try {
    await cluster.startAll();
    await cluster.form('dev');
    const first = cluster.node(0);
    await first.sql('CREATE TABLE IF NOT EXISTS example (title text, price float, tags string)');
    await first.sql('ALTER CLUSTER dev ADD example');
    await first.sql(
      "INSERT INTO dev:example (id, title, price, tags) VALUES (1, 'hello world', 9.5, 'demo'), (2, 'manticore cluster on loopback', 19.0, 'demo')",
    );
  } catch (err) {
    console.error(`failed to start the dev cluster: ${err instanceof Error ? err.message : String(err)}`);
    console.error(cluster.logTails(20));
    await cluster.killAll();
    process.exit(1);
  }

  say(`\ncluster 'dev' is up: ${size} nodes, table 'example' replicated (write as dev:example)\n`);
  for (const n of cluster.nodes) {
    say(
      `  ${n.name}: mysql -h127.0.0.1 -P${n.ports.mysql}    http http://127.0.0.1:${n.ports.http}    api ${n.apiAddress}    dir ${n.layout.dir}`,
    );
  }
  say(`\ntry: mysql -h127.0.0.1 -P${cluster.node(0).ports.mysql} -e "SELECT * FROM example; SHOW STATUS LIKE 'cluster_dev_%'"`);
  say('This runs only the nodes; `npm start` runs them with the agents, the controller and the API.');
  say('Press Ctrl-C to stop the nodes cleanly.');

  // report (once) a node that dies on its own; keep running until a signal
  const reported = new Set<string>();
  setInterval(() => {
    if (stopping) return;
    for (const n of cluster.nodes) {
      if (!n.running && n.lastExit && !reported.has(n.name)) {
        reported.add(n.name);
        console.error(`${n.name} exited (code ${n.lastExit.code}, signal ${n.lastExit.signal}); log tail:\n${n.logTail(15)}`);
      }
    }
  }, 2000).unref();
  await new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
