/**
 * Incremental record splitters for indexer pipe sources: text arrives in chunks (from a child's
 * stdout) and complete records come out, so the input is never held in memory as a whole.
 *
 * CSV follows RFC 4180: fields separated by `,`, optionally double-quoted; inside quotes `""` is a
 * literal quote and newlines are part of the field; records end with LF or CRLF.
 * TSV: fields separated by TAB, records by LF (CR before LF dropped), no quoting.
 */

export interface InputRecord {
  fields: string[];
  /** 1-based line where the record starts */
  line: number;
}

export interface RecordSplitter {
  /** Feeds a chunk; returns the records it completed. */
  push(chunk: string): InputRecord[];
  /** Ends the input; returns the last record if any. Throws on an unterminated quote. */
  end(): InputRecord[];
}

export class CsvSplitter implements RecordSplitter {
  private field = '';
  private record: string[] = [];
  /** inside a quoted field */
  private quoted = false;
  /** just saw a quote inside a quoted field (either the end or the first of `""`) */
  private quotePending = false;
  /** the current field started with a quote (so text after the closing quote is an error) */
  private fieldWasQuoted = false;
  private sawAny = false;
  private pendingCR = false;
  private line = 1;
  private startLine = 1;

  constructor(private readonly delimiter = ',') {}

  push(chunk: string): InputRecord[] {
    const out: InputRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charAt(i);
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === '\n') {
          this.line++;
          this.finishRecord(out);
          continue;
        }
        // a lone CR outside quotes ends the record as well
        this.finishRecord(out);
      }
      if (this.quoted) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.quoted = false;
          // fall through: c is processed as an unquoted character
        } else {
          if (c === '"') this.quotePending = true;
          else {
            if (c === '\n') this.line++;
            this.field += c;
          }
          continue;
        }
      }
      if (c === '"' && this.field === '' && !this.fieldWasQuoted) {
        this.quoted = true;
        this.fieldWasQuoted = true;
        this.sawAny = true;
        continue;
      }
      if (c === this.delimiter) {
        this.record.push(this.field);
        this.field = '';
        this.fieldWasQuoted = false;
        this.sawAny = true;
        continue;
      }
      if (c === '\r') {
        this.pendingCR = true;
        continue;
      }
      if (c === '\n') {
        this.line++;
        this.finishRecord(out);
        continue;
      }
      if (this.fieldWasQuoted) {
        throw new Error(`line ${this.line}: unexpected character after a closing quote`);
      }
      this.field += c;
      this.sawAny = true;
    }
    return out;
  }

  end(): InputRecord[] {
    const out: InputRecord[] = [];
    if (this.quoted && !this.quotePending) throw new Error(`line ${this.startLine}: unterminated quoted field`);
    this.quoted = false;
    this.quotePending = false;
    this.pendingCR = false;
    this.finishRecord(out);
    return out;
  }

  private finishRecord(out: InputRecord[]): void {
    if (this.sawAny || this.field !== '') {
      this.record.push(this.field);
      out.push({ fields: this.record, line: this.startLine });
    }
    this.record = [];
    this.field = '';
    this.fieldWasQuoted = false;
    this.sawAny = false;
    this.startLine = this.line;
  }
}

export class TsvSplitter implements RecordSplitter {
  private rest = '';
  private line = 0;

  push(chunk: string): InputRecord[] {
    this.rest += chunk;
    const out: InputRecord[] = [];
    let nl = this.rest.indexOf('\n');
    while (nl >= 0) {
      let text = this.rest.slice(0, nl);
      this.rest = this.rest.slice(nl + 1);
      this.line++;
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text !== '') out.push({ fields: text.split('\t'), line: this.line });
      nl = this.rest.indexOf('\n');
    }
    return out;
  }

  end(): InputRecord[] {
    const text = this.rest.endsWith('\r') ? this.rest.slice(0, -1) : this.rest;
    this.rest = '';
    if (text === '') return [];
    this.line++;
    return [{ fields: text.split('\t'), line: this.line }];
  }
}
