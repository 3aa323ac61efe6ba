/**
 * A small in-memory StatusReader + RequestSink for the API and mctl tests (the real status store
 * lives in src/status). Tests set views directly and push events with emit().
 */
import type { SpecProblem } from '../../../src/domain/spec.js';
import { AppError } from '../../../src/lib/errors.js';
import type {
  ClusterStatusView,
  OperationRecord,
  RequestSink,
  StatusEvent,
  StatusReader,
  TableStatusView,
} from '../../../src/status/types.js';

export class MemoryStatus implements StatusReader, RequestSink {
  clusterView: ClusterStatusView = { name: 'main', phase: 'Forming', size: 0, nodes: [], conditions: [] };
  tableViews: TableStatusView[] = [];
  problems: SpecProblem[] = [];
  ops: OperationRecord[] = [];
  bootstrapRequests: { node: string; force: boolean; requestedBy: string }[] = [];
  private readonly listeners = new Set<(event: StatusEvent) => void>();

  cluster(): ClusterStatusView {
    return this.clusterView;
  }
  tables(): TableStatusView[] {
    return this.tableViews;
  }
  table(name: string): TableStatusView | undefined {
    return this.tableViews.find((t) => t.name === name);
  }
  specProblems(): SpecProblem[] {
    return this.problems;
  }
  operations(): OperationRecord[] {
    return this.ops;
  }
  operation(id: string): OperationRecord | undefined {
    return this.ops.find((o) => o.id === id);
  }
  subscribe(listener: (event: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  emit(event: StatusEvent): void {
    for (const l of this.listeners) l(event);
  }

  async requestBootstrap(input: { node: string; force: boolean; requestedBy: string }): Promise<OperationRecord> {
    if (this.ops.some((o) => o.kind === 'forced-bootstrap' && (o.state === 'pending' || o.state === 'running'))) {
      throw new AppError('CONFLICT', 'a forced bootstrap is already pending');
    }
    this.bootstrapRequests.push(input);
    const op: OperationRecord = {
      id: `op-bootstrap-${this.bootstrapRequests.length}`,
      kind: 'forced-bootstrap',
      key: `cluster/${this.clusterView.name}`,
      requestedBy: input.requestedBy,
      requestedAt: new Date().toISOString(),
      state: 'pending',
      steps: [],
    };
    this.ops.push(op);
    this.emit({ type: 'operation', at: op.requestedAt, operation: op });
    return op;
  }
}
