/**
 * The static platform: the nodes are the configured list (NODES). It runs nothing, so start and
 * stop have nothing to do; the node set changes only when `reload` is given a different list.
 */
import type { NodeRef, Platform } from '../types.js';

export class StaticPlatform implements Platform {
  readonly kind = 'static' as const;
  private nodes: NodeRef[];
  private readonly listeners = new Set<() => void>();

  constructor(nodes: readonly NodeRef[]) {
    this.nodes = copy(nodes);
  }

  listNodes(): Promise<NodeRef[]> {
    return Promise.resolve(copy(this.nodes));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Replaces the list (e.g. after the config was re-read); listeners fire only when it differs. Returns whether it changed. */
  reload(nodes: readonly NodeRef[]): boolean {
    const next = copy(nodes);
    if (JSON.stringify(next) === JSON.stringify(this.nodes)) return false;
    this.nodes = next;
    for (const l of [...this.listeners]) l();
    return true;
  }

  /** Nothing to start: the nodes run elsewhere. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to stop: the platform started nothing. */
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

function copy(nodes: readonly NodeRef[]): NodeRef[] {
  return nodes.map((n) => ({ ...n, mysql: { ...n.mysql } }));
}
