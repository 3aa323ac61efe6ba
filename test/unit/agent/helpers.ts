/** Test helpers: an agent on a free loopback port with its own temp directories. */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AgentClient } from '../../../src/agent/client.js';
import { startAgentServer, type AgentServer } from '../../../src/agent/server/index.js';
import type { AgentServerConfig } from '../../../src/agent/server/config.js';
import type { JobKind } from '../../../src/agent/server/jobs.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `mco-agent-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A loopback port nothing listens on (a "down searchd"). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestAgentOptions {
  dir: string;
  mysqlPort?: number;
  dataDir?: string;
  jobsDir?: string;
  searchdConfig?: string;
  cluster?: string;
  indexer?: string;
  extraKinds?: readonly JobKind[];
}

export interface TestAgent {
  server: AgentServer;
  client: AgentClient;
  config: AgentServerConfig;
  /** raw fetch against the agent (for auth and envelope tests) */
  fetch(pathname: string, init?: RequestInit): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startTestAgent(o: TestAgentOptions): Promise<TestAgent> {
  const dataDir = o.dataDir ?? path.join(o.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config: AgentServerConfig = {
    host: '127.0.0.1',
    port: 0,
    token: TEST_TOKEN,
    mysql: { host: '127.0.0.1', port: o.mysqlPort ?? (await closedPort()) },
    dataDir,
    jobsDir: o.jobsDir ?? path.join(o.dir, 'agent'),
    binaries: { searchd: 'searchd', indexer: o.indexer ?? 'indexer', backup: 'manticore-backup' },
  };
  if (o.searchdConfig !== undefined) config.searchdConfig = o.searchdConfig;
  if (o.cluster !== undefined) config.cluster = o.cluster;
  const server = await startAgentServer(config, o.extraKinds ? { extraKinds: o.extraKinds } : {});
  const client = new AgentClient({ baseUrl: server.url, token: TEST_TOKEN, timeoutMs: 10_000 });
  return {
    server,
    client,
    config,
    async fetch(pathname, init) {
      const res = await fetch(`${server.url}${pathname}`, init);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: returned as text
      }
      return { status: res.status, body };
    },
    close: () => server.close(),
  };
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TEST_TOKEN}`, ...extra };
}
