/**
 * Recursive-descent parser for the simulator's SphinxQL subset (types in ./ast.ts).
 *
 * Keywords are case-insensitive; names keep the case they were written in (the executor decides
 * how to compare them). Column definitions keep exactly the options written (`title text` gives
 * `options: []`; defaults such as `indexed stored` are the executor's business). Table and SELECT
 * OPTION keys are lower-cased; values keep their text.
 *
 * Errors are `SqlError`s with Manticore's wording, e.g.
 * `P01: syntax error, unexpected identifier near 'foo bar'`.
 */
import { SqlError } from '../contract.js';
import type { ColumnDef, Expr, Literal, OrderItem, SelectItem, Statement, TableOption } from './ast.js';
import { tokenize, type Token } from './lexer.js';

/** Words shown as themselves (upper-case) in syntax errors, like bison's named tokens. */
const KEYWORDS = new Set([
  'add', 'agent', 'alter', 'and', 'as', 'asc', 'at', 'attach', 'between', 'by', 'cluster', 'count', 'create',
  'delete', 'desc', 'describe', 'distinct', 'drop', 'exists', 'flush', 'freeze', 'from', 'global', 'group',
  'if', 'import', 'in', 'index', 'insert', 'into', 'join', 'like', 'limit', 'match', 'meta', 'not', 'null',
  'offset', 'option', 'or', 'order', 'ramchunk', 'reconfigure', 'rename', 'replace', 'rtindex', 'select',
  'session', 'set', 'show', 'status', 'table', 'tables', 'to', 'truncate', 'unfreeze', 'update', 'values',
  'variables', 'version', 'warnings', 'where', 'with', 'locks',
]);

const COLUMN_TYPES = new Set([
  'text', 'string', 'integer', 'int', 'uint', 'bigint', 'float', 'bool', 'timestamp', 'json', 'multi', 'multi64',
  'float_vector',
]);

/** Flags of a full-text/string column in CREATE TABLE and ALTER TABLE ... ADD COLUMN. */
const FIELD_FLAGS = new Set(['indexed', 'stored', 'attribute']);

/** Per-column `key='value'` options ddl.y's item_option accepts (plus the auto-embedding ones of the manual). */
const ITEM_OPTIONS = new Set([
  'engine', 'hash', 'fast_fetch', 'knn_type', 'knn_dims', 'hnsw_similarity', 'hnsw_m', 'hnsw_ef_construction',
  'quantization', 'secondary_index', 'model_name', 'from', 'api_key', 'api_url', 'api_timeout',
]);

/** Parses one statement (an optional trailing `;` is allowed). Throws SqlError. */
export function parseSql(text: string): Statement {
  return new Parser(text).parseStatement();
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  // ---- token helpers -------------------------------------------------------------------------

  private peek(offset = 0): Token {
    const t = this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
    if (t === undefined) throw new Error('token stream is empty');
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.i++;
    return t;
  }

  /** Is the token the given keyword (bare identifier, case-insensitive)? */
  private isKw(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'ident' && t.value.toLowerCase() === word;
  }

  private acceptKw(word: string): boolean {
    if (this.isKw(word)) {
      this.i++;
      return true;
    }
    return false;
  }

  private expectKw(word: string): void {
    if (!this.acceptKw(word)) throw this.unexpected(word.toUpperCase());
  }

  private isPunct(p: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'punct' && t.value === p;
  }

  private acceptPunct(p: string): boolean {
    if (this.isPunct(p)) {
      this.i++;
      return true;
    }
    return false;
  }

  private expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw this.unexpected(`'${p}'`);
  }

  /** Manticore-style syntax error at the current token. */
  private unexpected(expecting?: string): SqlError {
    const t = this.peek();
    let what: string;
    switch (t.type) {
      case 'eof':
        what = '$end';
        break;
      case 'ident':
        what = KEYWORDS.has(t.value.toLowerCase()) ? t.value.toUpperCase() : 'identifier';
        break;
      case 'qident':
        what = 'identifier';
        break;
      case 'string':
        what = 'string';
        break;
      case 'int':
        what = 'integer';
        break;
      case 'float':
        what = 'float';
        break;
      case 'punct':
        what = `'${t.value}'`;
        break;
    }
    const exp = expecting === undefined ? '' : `, expecting ${expecting}`;
    return new SqlError(`P01: syntax error, unexpected ${what}${exp} near '${this.text.slice(t.pos)}'`);
  }

  /** A name: bare identifier or backtick-quoted. */
  private name(): string {
    const t = this.peek();
    if (t.type === 'ident' || t.type === 'qident') {
      this.i++;
      return t.value;
    }
    throw this.unexpected();
  }

  private nameList(): string[] {
    const names = [this.name()];
    while (this.acceptPunct(',')) names.push(this.name());
    return names;
  }

  /** `[cluster:]table` */
  private clusterTable(): { cluster?: string; table: string } {
    const first = this.name();
    if (this.acceptPunct(':')) return { cluster: first, table: this.name() };
    return { table: first };
  }

  private string(): string {
    const t = this.peek();
    if (t.type !== 'string') throw this.unexpected();
    this.i++;
    return t.value;
  }

  /** An unsigned or negative integer, as text. */
  private integer(): string {
    const neg = this.acceptPunct('-');
    const t = this.peek();
    if (t.type !== 'int') throw this.unexpected();
    this.i++;
    return neg ? `-${t.value}` : t.value;
  }

  private smallInt(): number {
    const t = this.peek();
    if (t.type !== 'int') throw this.unexpected();
    this.i++;
    return Number(t.value);
  }

  private literal(): Literal {
    const t = this.peek();
    if (t.type === 'punct' && t.value === '-') {
      const n = this.peek(1);
      if (n.type === 'int') {
        this.i += 2;
        return { type: 'int', value: `-${n.value}` };
      }
      if (n.type === 'float') {
        this.i += 2;
        return { type: 'float', value: -Number(n.value) };
      }
      this.i++;
      throw this.unexpected();
    }
    if (t.type === 'int') {
      this.i++;
      return { type: 'int', value: t.value };
    }
    if (t.type === 'float') {
      this.i++;
      return { type: 'float', value: Number(t.value) };
    }
    if (t.type === 'string') {
      this.i++;
      return { type: 'string', value: t.value };
    }
    if (this.isKw('null')) {
      this.i++;
      return { type: 'null' };
    }
    if (this.isPunct('(')) {
      this.i++;
      const values: string[] = [];
      if (!this.acceptPunct(')')) {
        do values.push(this.integer());
        while (this.acceptPunct(','));
        this.expectPunct(')');
      }
      return { type: 'mva', values };
    }
    throw this.unexpected();
  }

  /** A value for `key = value` settings: string, number (possibly negative) or bare word. */
  private settingValue(): string {
    const t = this.peek();
    if (t.type === 'string' || t.type === 'ident' || t.type === 'int' || t.type === 'float') {
      this.i++;
      return t.value;
    }
    if (t.type === 'punct' && t.value === '-') {
      const n = this.peek(1);
      if (n.type === 'int' || n.type === 'float') {
        this.i += 2;
        return `-${n.value}`;
      }
    }
    throw this.unexpected();
  }

  private end(): void {
    this.acceptPunct(';');
    if (this.peek().type !== 'eof') throw this.unexpected();
  }

  // ---- statements ----------------------------------------------------------------------------

  parseStatement(): Statement {
    const t = this.peek();
    if (t.type !== 'ident') throw this.unexpected();
    let stmt: Statement;
    switch (t.value.toLowerCase()) {
      case 'select':
        stmt = this.select();
        break;
      case 'insert':
      case 'replace':
        stmt = this.insert();
        break;
      case 'delete':
        stmt = this.isKw('cluster', 1) ? this.deleteCluster() : this.delete();
        break;
      case 'update':
        stmt = this.update();
        break;
      case 'create':
        stmt = this.create();
        break;
      case 'drop':
        stmt = this.drop();
        break;
      case 'alter':
        stmt = this.alter();
        break;
      case 'truncate':
        stmt = this.truncate();
        break;
      case 'show':
        stmt = this.show();
        break;
      case 'describe':
      case 'desc':
        stmt = this.describe();
        break;
      case 'join':
        stmt = this.joinCluster();
        break;
      case 'set':
        stmt = this.set();
        break;
      case 'import':
        stmt = this.importTable();
        break;
      case 'attach':
        stmt = this.attach();
        break;
      case 'freeze':
        this.next();
        stmt = { kind: 'freeze', tables: this.nameList() };
        break;
      case 'unfreeze':
        this.next();
        stmt = { kind: 'unfreeze', tables: this.nameList() };
        break;
      case 'flush':
        stmt = this.flush();
        break;
      default:
        throw this.unexpected();
    }
    this.end();
    return stmt;
  }

  private select(): Statement {
    this.expectKw('select');
    const items: SelectItem[] = [];
    do items.push(this.selectItem());
    while (this.acceptPunct(','));
    // `SELECT 1` / `SELECT expr` without a table is valid SphinxQL: `from` is then empty
    const from = this.acceptKw('from') ? this.nameList() : [];
    const stmt: Extract<Statement, { kind: 'select' }> = { kind: 'select', items, from, orderBy: [], options: [] };
    if (this.acceptKw('where')) stmt.where = this.expr();
    if (this.acceptKw('group')) {
      this.expectKw('by');
      stmt.groupBy = this.nameList();
    }
    if (this.acceptKw('order')) {
      this.expectKw('by');
      do stmt.orderBy.push(this.orderItem());
      while (this.acceptPunct(','));
    }
    if (this.acceptKw('limit')) {
      const a = this.smallInt();
      if (this.acceptPunct(',')) {
        stmt.offset = a;
        stmt.limit = this.smallInt();
      } else {
        stmt.limit = a;
        if (this.acceptKw('offset')) stmt.offset = this.smallInt();
      }
    }
    if (this.acceptKw('option')) {
      do {
        const key = this.name().toLowerCase();
        this.expectPunct('=');
        stmt.options.push({ key, value: this.settingValue() });
      } while (this.acceptPunct(','));
    }
    return stmt;
  }

  private selectItem(): SelectItem {
    if (this.acceptPunct('*')) return { expr: { type: 'star' } };
    const expr = this.primary();
    if (this.acceptKw('as')) return { expr, alias: this.name() };
    const t = this.peek();
    if ((t.type === 'ident' && !KEYWORDS.has(t.value.toLowerCase())) || t.type === 'qident') {
      this.i++;
      return { expr, alias: t.value };
    }
    return { expr };
  }

  private orderItem(): OrderItem {
    const expr = this.primary();
    if (this.acceptKw('asc')) return { expr, dir: 'asc' };
    if (this.acceptKw('desc')) return { expr, dir: 'desc' };
    return { expr };
  }

  /** expr := or */
  private expr(): Expr {
    let left = this.andExpr();
    while (this.acceptKw('or')) left = { type: 'or', left, right: this.andExpr() };
    return left;
  }

  private andExpr(): Expr {
    let left = this.notExpr();
    while (this.acceptKw('and')) left = { type: 'and', left, right: this.notExpr() };
    return left;
  }

  private notExpr(): Expr {
    if (this.acceptKw('not')) return { type: 'not', expr: this.notExpr() };
    return this.predicate();
  }

  private predicate(): Expr {
    if (this.isPunct('(')) {
      this.next();
      const inner = this.expr();
      this.expectPunct(')');
      return inner;
    }
    const left = this.primary();
    if (left.type === 'match') return left;
    const t = this.peek();
    if (t.type === 'punct' && ['=', '!=', '<', '<=', '>', '>='].includes(t.value)) {
      this.i++;
      const op = t.value as '=' | '!=' | '<' | '<=' | '>' | '>=';
      return { type: 'cmp', op, left, right: this.primary() };
    }
    let not = false;
    if (this.isKw('not') && (this.isKw('in', 1) || this.isKw('between', 1))) {
      this.i++;
      not = true;
    }
    if (this.acceptKw('in')) {
      this.expectPunct('(');
      const values: Literal[] = [];
      do values.push(this.literal());
      while (this.acceptPunct(','));
      this.expectPunct(')');
      return { type: 'in', expr: left, values, not };
    }
    if (this.acceptKw('between')) {
      const low = this.literal();
      this.expectKw('and');
      const high = this.literal();
      return { type: 'between', expr: left, low, high, not };
    }
    throw this.unexpected();
  }

  /** Literal, column, MATCH('...') or function call. */
  private primary(): Expr {
    const t = this.peek();
    // @@system_variable (mysql clients ask for @@version_comment): a column named `@@name`
    if (this.isPunct('@') && this.isPunct('@', 1)) {
      const v = this.peek(2);
      if (v.type === 'ident' && v.pos === t.pos + 2) {
        this.i += 3;
        let name = v.value;
        if (this.isPunct('.') && this.peek(1).type === 'ident') {
          name += `.${this.peek(1).value}`;
          this.i += 2;
        }
        return { type: 'column', name: `@@${name}` };
      }
    }
    if (t.type === 'ident' && this.isPunct('(', 1)) {
      const fname = t.value.toLowerCase();
      this.i += 2;
      if (fname === 'match') {
        const query = this.string();
        this.expectPunct(')');
        return { type: 'match', query };
      }
      if (this.acceptPunct('*')) {
        this.expectPunct(')');
        return { type: 'func', name: fname, args: [], star: true };
      }
      const args: Expr[] = [];
      if (!this.acceptPunct(')')) {
        do args.push(this.primary());
        while (this.acceptPunct(','));
        this.expectPunct(')');
      }
      return { type: 'func', name: fname, args, star: false };
    }
    if (t.type === 'ident' || t.type === 'qident') {
      if (t.type === 'ident' && this.isKw('null')) {
        this.i++;
        return { type: 'literal', value: { type: 'null' } };
      }
      if (t.type === 'ident' && KEYWORDS.has(t.value.toLowerCase()) && !['count', 'status', 'version', 'meta', 'index', 'tables', 'agent', 'locks', 'warnings', 'variables'].includes(t.value.toLowerCase())) {
        throw this.unexpected();
      }
      this.i++;
      return { type: 'column', name: t.value };
    }
    if (t.type === 'punct' && t.value === '(') throw this.unexpected();
    return { type: 'literal', value: this.literal() };
  }

  private insert(): Statement {
    const replace = this.next().value.toLowerCase() === 'replace';
    this.expectKw('into');
    const { cluster, table } = this.clusterTable();
    let columns: string[] | undefined;
    if (this.acceptPunct('(')) {
      columns = this.nameList();
      this.expectPunct(')');
    }
    this.expectKw('values');
    const rows: Literal[][] = [];
    do {
      this.expectPunct('(');
      const row: Literal[] = [];
      do row.push(this.literal());
      while (this.acceptPunct(','));
      this.expectPunct(')');
      rows.push(row);
    } while (this.acceptPunct(','));
    const stmt: Extract<Statement, { kind: 'insert' }> = { kind: 'insert', replace, table, rows };
    if (cluster !== undefined) stmt.cluster = cluster;
    if (columns !== undefined) stmt.columns = columns;
    return stmt;
  }

  private delete(): Statement {
    this.expectKw('delete');
    this.expectKw('from');
    const { cluster, table } = this.clusterTable();
    this.expectKw('where');
    const where = this.expr();
    return cluster === undefined ? { kind: 'delete', table, where } : { kind: 'delete', cluster, table, where };
  }

  private update(): Statement {
    this.expectKw('update');
    const { cluster, table } = this.clusterTable();
    this.expectKw('set');
    const set: { column: string; value: Literal }[] = [];
    do {
      const column = this.name();
      this.expectPunct('=');
      set.push({ column, value: this.literal() });
    } while (this.acceptPunct(','));
    this.expectKw('where');
    const where = this.expr();
    return cluster === undefined
      ? { kind: 'update', table, set, where }
      : { kind: 'update', cluster, table, set, where };
  }

  private create(): Statement {
    this.expectKw('create');
    if (this.acceptKw('cluster')) return this.createCluster();
    this.expectKw('table');
    let ifNotExists = false;
    if (this.acceptKw('if')) {
      this.expectKw('not');
      this.expectKw('exists');
      ifNotExists = true;
    }
    const name = this.name();
    const columns: ColumnDef[] = [];
    if (this.acceptPunct('(')) {
      do columns.push(this.columnDef());
      while (this.acceptPunct(','));
      this.expectPunct(')');
    }
    return { kind: 'create_table', name, ifNotExists, columns, options: this.tableOptions() };
  }

  private columnDef(): ColumnDef {
    const name = this.name();
    const t = this.peek();
    if (t.type !== 'ident' || !COLUMN_TYPES.has(t.value.toLowerCase())) throw this.unexpected();
    this.i++;
    const options: string[] = [];
    for (;;) {
      const o = this.peek();
      if (o.type !== 'ident') break;
      this.i++;
      const word = o.value.toLowerCase();
      if (this.acceptPunct('=')) options.push(`${word}=${this.settingValue()}`);
      else options.push(word);
    }
    return { name, type: t.value.toLowerCase(), options };
  }

  /**
   * `key [=] value` pairs, separated by blanks (or commas); keys may repeat. ALTER TABLE requires the `=`
   * (as in ddl.y's create_table_option), CREATE TABLE does not.
   */
  private tableOptions(equalsRequired = false): TableOption[] {
    const options: TableOption[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type !== 'ident') break;
      this.i++;
      const key = t.value.toLowerCase();
      if (equalsRequired) this.expectPunct('=');
      else this.acceptPunct('=');
      options.push({ key, value: this.settingValue() });
      this.acceptPunct(',');
    }
    return options;
  }

  /** `'value' AS key` items of CREATE / JOIN CLUSTER, separated by optional commas. */
  private clusterItems(allowAt: boolean): { path?: string; nodes?: string; options?: string; at?: string } {
    const out: { path?: string; nodes?: string; options?: string; at?: string } = {};
    for (;;) {
      if (allowAt && this.acceptKw('at')) {
        out.at = this.string();
      } else if (this.peek().type === 'string') {
        const value = this.string();
        this.expectKw('as');
        const key = this.peek().value.toLowerCase();
        if (key !== 'path' && key !== 'nodes' && key !== 'options') throw this.unexpected();
        this.name();
        out[key] = value;
      } else {
        break;
      }
      this.acceptPunct(',');
    }
    return out;
  }

  private createCluster(): Statement {
    const name = this.name();
    const items = this.clusterItems(false);
    return { kind: 'create_cluster', name, ...items };
  }

  private joinCluster(): Statement {
    this.expectKw('join');
    this.expectKw('cluster');
    const name = this.name();
    const items = this.clusterItems(true);
    if (items.at === undefined && items.nodes === undefined) throw this.unexpected('AT');
    return { kind: 'join_cluster', name, ...items };
  }

  private deleteCluster(): Statement {
    this.expectKw('delete');
    this.expectKw('cluster');
    return { kind: 'delete_cluster', name: this.name() };
  }

  private drop(): Statement {
    this.expectKw('drop');
    this.expectKw('table');
    let ifExists = false;
    if (this.acceptKw('if')) {
      this.expectKw('exists');
      ifExists = true;
    }
    return { kind: 'drop_table', name: this.name(), ifExists };
  }

  private alter(): Statement {
    this.expectKw('alter');
    if (this.acceptKw('cluster')) {
      const name = this.name();
      if (this.acceptKw('add')) return { kind: 'alter_cluster_add', name, tables: this.nameList() };
      if (this.acceptKw('drop')) return { kind: 'alter_cluster_drop', name, tables: this.nameList() };
      if (this.acceptKw('update')) {
        this.expectKw('nodes');
        return { kind: 'alter_cluster_update_nodes', name };
      }
      throw this.unexpected();
    }
    this.expectKw('table');
    const name = this.name();
    if (this.acceptKw('rename')) return { kind: 'alter_table_rename', name, newName: this.name() };
    if (this.acceptKw('add')) {
      this.expectKw('column');
      return { kind: 'alter_table_add_column', name, column: this.alterColumnDef() };
    }
    if (this.acceptKw('drop')) {
      this.expectKw('column');
      return { kind: 'alter_table_drop_column', name, column: this.name() };
    }
    // `ALTER TABLE t key='value' ...` only: every other ALTER TABLE form (MODIFY COLUMN, RECONFIGURE,
    // REBUILD ..., KILLLIST_TARGET) is not simulated and must fail instead of being read as options
    const options = this.tableOptions(true);
    if (options.length === 0) throw this.unexpected();
    return { kind: 'alter_table_options', name, options };
  }

  /**
   * The column of `ALTER TABLE t ADD COLUMN` as ddl.y's `ident alter_col_type item_option_list` takes it:
   * an attribute type, or `text`/`string` with optional `indexed`/`stored`/`attribute` flags, then
   * `key='value'` item options (engine, hash, fast_fetch, knn_*, hnsw_*, quantization, secondary_index, ...).
   */
  private alterColumnDef(): ColumnDef {
    const name = this.name();
    const t = this.peek();
    if (t.type !== 'ident' || !COLUMN_TYPES.has(t.value.toLowerCase())) throw this.unexpected();
    this.i++;
    const type = t.value.toLowerCase();
    const options: string[] = [];
    if (type === 'text' || type === 'string') {
      for (;;) {
        const f = this.peek();
        if (f.type !== 'ident' || !FIELD_FLAGS.has(f.value.toLowerCase()) || this.peek(1).value === '=') break;
        this.i++;
        options.push(f.value.toLowerCase());
      }
    }
    for (;;) {
      const o = this.peek();
      if (o.type !== 'ident') break;
      if (!ITEM_OPTIONS.has(o.value.toLowerCase())) throw this.unexpected();
      this.i++;
      this.expectPunct('=');
      options.push(`${o.value.toLowerCase()}=${this.settingValue()}`);
    }
    return { name, type, options };
  }


  private truncate(): Statement {
    this.expectKw('truncate');
    if (!this.acceptKw('rtindex')) this.expectKw('table');
    const { cluster, table } = this.clusterTable();
    let reconfigure = false;
    if (this.acceptKw('with')) {
      this.expectKw('reconfigure');
      reconfigure = true;
    }
    return cluster === undefined
      ? { kind: 'truncate_table', name: table, reconfigure }
      : { kind: 'truncate_table', cluster, name: table, reconfigure };
  }

  private like(): string | undefined {
    return this.acceptKw('like') ? this.string() : undefined;
  }

  private show(): Statement {
    this.expectKw('show');
    if (this.acceptKw('status')) return withLike({ kind: 'show_status' }, this.like());
    if (this.acceptKw('tables')) return withLike({ kind: 'show_tables' }, this.like());
    if (this.acceptKw('version')) return { kind: 'show_version' };
    if (this.acceptKw('warnings')) return { kind: 'show_warnings' };
    if (this.acceptKw('meta')) return { kind: 'show_meta' };
    if (this.acceptKw('locks')) return { kind: 'show_locks' };
    if (this.isKw('agent') && this.isKw('status', 1)) {
      this.i += 2;
      return { kind: 'show_agent_status' };
    }
    if (this.isKw('create') && this.isKw('table', 1)) {
      this.i += 2;
      return { kind: 'show_create_table', name: this.name() };
    }
    if (this.isKw('global') || this.isKw('session')) {
      if (!this.isKw('variables', 1)) {
        this.i++;
        throw this.unexpected('VARIABLES');
      }
      this.i++;
    }
    if (this.acceptKw('variables')) return withLike({ kind: 'show_variables' }, this.like());
    throw this.unexpected();
  }

  private describe(): Statement {
    this.next();
    const name = this.name();
    return withLike({ kind: 'describe', name }, this.like());
  }

  private set(): Statement {
    this.expectKw('set');
    if (this.acceptKw('cluster')) {
      const name = this.name();
      this.expectKw('global');
      const key = this.string();
      this.expectPunct('=');
      return { kind: 'set_cluster', name, key, value: this.settingValue() };
    }
    if (this.acceptKw('names')) {
      const value = this.settingValue();
      if (this.acceptKw('collate')) this.settingValue();
      return { kind: 'set', name: 'names', value };
    }
    let scope: 'global' | 'session' | undefined;
    if (this.acceptKw('global')) scope = 'global';
    else if (this.acceptKw('session')) scope = 'session';
    // @@session.x / @x forms are accepted and reduced to the variable name
    while (this.acceptPunct('@'));
    let name = this.name();
    if (this.acceptPunct('.')) name = this.name();
    this.expectPunct('=');
    const value = this.settingValue();
    return scope === undefined ? { kind: 'set', name, value } : { kind: 'set', scope, name, value };
  }

  private importTable(): Statement {
    this.expectKw('import');
    this.expectKw('table');
    const name = this.name();
    this.expectKw('from');
    return { kind: 'import_table', name, path: this.string() };
  }

  private attach(): Statement {
    this.expectKw('attach');
    if (!this.acceptKw('index')) this.expectKw('table');
    const source = this.name();
    this.expectKw('to');
    if (!this.acceptKw('rtindex')) this.expectKw('table');
    const target = this.name();
    let truncate = false;
    if (this.acceptKw('with')) {
      this.expectKw('truncate');
      truncate = true;
    }
    return { kind: 'attach_table', source, target, truncate };
  }

  private flush(): Statement {
    this.expectKw('flush');
    if (this.acceptKw('ramchunk')) return { kind: 'flush_ramchunk', name: this.name() };
    if (this.acceptKw('rtindex')) return { kind: 'flush_rtindex', name: this.name() };
    throw this.unexpected();
  }
}

type WithLike = Extract<Statement, { kind: 'show_status' | 'show_tables' | 'show_variables' | 'describe' }>;

function withLike(stmt: WithLike, like: string | undefined): Statement {
  if (like !== undefined) stmt.like = like;
  return stmt;
}
