/**
 * AST of the SphinxQL subset the simulator understands. Everything here is plain JSON
 * (no bigint, no class instances) so statements can travel between simulated nodes.
 * Integer literals keep their text (`value: string`) because document ids are uint64.
 */

export type Literal =
  | { type: 'int'; value: string }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'null' }
  /** (1,2,3) — multi-value attribute literal */
  | { type: 'mva'; values: string[] };

export type Expr =
  | { type: 'literal'; value: Literal }
  | { type: 'column'; name: string }
  | { type: 'match'; query: string }
  | { type: 'cmp'; op: '=' | '!=' | '<' | '<=' | '>' | '>='; left: Expr; right: Expr }
  | { type: 'in'; expr: Expr; values: Literal[]; not: boolean }
  | { type: 'between'; expr: Expr; low: Literal; high: Literal; not: boolean }
  | { type: 'and'; left: Expr; right: Expr }
  | { type: 'or'; left: Expr; right: Expr }
  | { type: 'not'; expr: Expr }
  /** count(*), count(col), sum/min/max/avg(col), weight(), id — `args` empty for count(*)/weight() */
  | { type: 'func'; name: string; args: Expr[]; star: boolean };

export interface ColumnDef {
  name: string;
  /** lower-case Manticore type: text, string, integer/int, bigint, float, bool, timestamp, json, multi, multi64, float_vector */
  type: string;
  /** e.g. ['indexed', 'stored'] for text, ['attribute'] for string; lower-case */
  options: string[];
}

export interface TableOption {
  /** lower-case option name (type, local, agent, ha_strategy, min_infix_len, ...) */
  key: string;
  value: string;
}

export interface SelectItem {
  expr: Expr | { type: 'star' };
  alias?: string;
}

export interface OrderItem {
  expr: Expr;
  /** undefined when the query gave no ASC/DESC (Manticore rejects `ORDER BY id` without one) */
  dir?: 'asc' | 'desc';
}

export type Statement =
  | { kind: 'create_table'; name: string; ifNotExists: boolean; columns: ColumnDef[]; options: TableOption[] }
  | { kind: 'drop_table'; name: string; ifExists: boolean }
  | { kind: 'alter_table_options'; name: string; options: TableOption[] }
  | { kind: 'alter_table_rename'; name: string; newName: string }
  /** ALTER TABLE t ADD COLUMN name type [flags] [key='value' ...] (RT tables only; refused for clustered tables) */
  | { kind: 'alter_table_add_column'; name: string; column: ColumnDef }
  /** ALTER TABLE t DROP COLUMN name */
  | { kind: 'alter_table_drop_column'; name: string; column: string }
  | { kind: 'truncate_table'; cluster?: string; name: string; reconfigure: boolean }
  | { kind: 'show_tables'; like?: string }
  | { kind: 'describe'; name: string; like?: string }
  | { kind: 'show_create_table'; name: string }
  | { kind: 'show_status'; like?: string }
  | { kind: 'show_version' }
  | { kind: 'show_variables'; like?: string }
  | { kind: 'show_warnings' }
  | { kind: 'show_meta' }
  | { kind: 'show_locks' }
  | { kind: 'show_agent_status' }
  | { kind: 'insert'; replace: boolean; cluster?: string; table: string; columns?: string[]; rows: Literal[][] }
  | { kind: 'delete'; cluster?: string; table: string; where: Expr }
  | { kind: 'update'; cluster?: string; table: string; set: { column: string; value: Literal }[]; where: Expr }
  | {
      kind: 'select';
      items: SelectItem[];
      from: string[];
      where?: Expr;
      groupBy?: string[];
      orderBy: OrderItem[];
      limit?: number;
      offset?: number;
      options: TableOption[];
    }
  /** CREATE CLUSTER c ['/p' AS path, 'h:p,h:p' AS nodes, 'k=v' AS options] */
  | { kind: 'create_cluster'; name: string; path?: string; nodes?: string; options?: string }
  /** JOIN CLUSTER c AT 'host:port' [...] or JOIN CLUSTER c 'h1;h2' AS nodes [...] */
  | { kind: 'join_cluster'; name: string; at?: string; nodes?: string; path?: string; options?: string }
  | { kind: 'delete_cluster'; name: string }
  | { kind: 'alter_cluster_add'; name: string; tables: string[] }
  | { kind: 'alter_cluster_drop'; name: string; tables: string[] }
  | { kind: 'alter_cluster_update_nodes'; name: string }
  /** SET CLUSTER c GLOBAL 'pc.bootstrap' = 1 */
  | { kind: 'set_cluster'; name: string; key: string; value: string }
  /** SET [GLOBAL|SESSION] name = value — accepted and ignored like Manticore does for client settings */
  | { kind: 'set'; scope?: 'global' | 'session'; name: string; value: string }
  | { kind: 'import_table'; name: string; path: string }
  | { kind: 'attach_table'; source: string; target: string; truncate: boolean }
  | { kind: 'freeze'; tables: string[] }
  | { kind: 'unfreeze'; tables: string[] }
  | { kind: 'flush_ramchunk'; name: string }
  | { kind: 'flush_rtindex'; name: string };

export type StatementKind = Statement['kind'];
