/**
 * Streaming record readers for import sources: text arrives in chunks and complete records come out
 * with the 1-based line they start on, so a source is never held in memory as a whole.
 *
 * CSV (RFC 4180): fields separated by `,`; a field may be double-quoted, and inside quotes `""` is a
 * literal quote and CR/LF are part of the value; records end with LF, CRLF or a lone CR. Text after a
 * closing quote (`"ab"c`) and an unterminated quote at the end are errors. A quote inside an unquoted
 * field is kept as a character (lenient, as most writers produce it only in quoted fields).
 * TSV (Manticore's tsvpipe): fields separated by TAB, records by LF (a CR before LF is dropped), no quoting.
 * Blank lines produce no record in either format.
 */

export interface SourceRecord {
  fields: string[];
  /** 1-based line where the record starts */
  line: number;
}

/** A malformed record (quoting); `line` is where the record starts. */
export class RecordSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'RecordSyntaxError';
  }
}

export interface RecordReader {
  /** Feeds a chunk; returns the records it completed. */
  push(chunk: string): SourceRecord[];
  /** Ends the input; returns the last record, if any. */
  end(): SourceRecord[];
}

const QUOTE = 34; // "
const CR = 13;
const LF = 10;

export class CsvReader implements RecordReader {
  private readonly delimiter: number;
  private field = '';
  private fields: string[] = [];
  /** inside a quoted field */
  private inQuotes = false;
  /** saw a quote inside a quoted field: the closing quote or the first of `""` */
  private quoteSeen = false;
  /** the current field was quoted and is closed: only a delimiter or a record end may follow */
  private closed = false;
  /** the current record has content (a field, a delimiter or a quote) */
  private started = false;
  /** the previous chunk ended with CR: a LF at the start of the next belongs to it */
  private afterCR = false;
  private line = 1;
  private recordLine = 1;

  constructor(delimiter = ',') {
    if (delimiter.length !== 1) throw new Error('delimiter must be one character');
    this.delimiter = delimiter.charCodeAt(0);
  }

  push(chunk: string): SourceRecord[] {
    const out: SourceRecord[] = [];
    const n = chunk.length;
    let i = 0;
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (chunk.charCodeAt(0) === LF) i = 1;
    }
    while (i < n) {
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (chunk.charCodeAt(i) === QUOTE) {
            this.field += '"';
            i++;
            continue;
          }
          this.inQuotes = false;
          this.closed = true;
          continue; // the character after the closing quote is handled below
        }
        // copy everything up to the next quote at once
        const q = chunk.indexOf('"', i);
        const end = q < 0 ? n : q;
        const text = chunk.slice(i, end);
        this.field += text;
        this.countLines(text);
        if (q < 0) return out;
        this.quoteSeen = true;
        i = q + 1;
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (c === this.delimiter) {
        this.fields.push(this.field);
        this.field = '';
        this.closed = false;
        this.started = true;
        i++;
        continue;
      }
      if (c === LF || c === CR) {
        this.finish(out);
        this.line++;
        this.recordLine = this.line;
        i++;
        if (c === CR) {
          if (i < n) {
            if (chunk.charCodeAt(i) === LF) i++;
          } else this.afterCR = true;
        }
        continue;
      }
      if (this.closed) throw new RecordSyntaxError(this.recordLine, 'unexpected text after a closing quote (a quote inside a quoted field must be doubled: "")');
      if (c === QUOTE && this.field === '') {
        this.inQuotes = true;
        this.started = true;
        i++;
        continue;
      }
      // plain run up to the next special character
      let j = i + 1;
      while (j < n) {
        const d = chunk.charCodeAt(j);
        if (d === this.delimiter || d === LF || d === CR) break;
        j++;
      }
      this.field += chunk.slice(i, j);
      this.started = true;
      i = j;
    }
    return out;
  }

  end(): SourceRecord[] {
    if (this.inQuotes && !this.quoteSeen) throw new RecordSyntaxError(this.recordLine, 'unterminated quoted field (a quote opened and never closed)');
    this.inQuotes = false;
    this.quoteSeen = false;
    const out: SourceRecord[] = [];
    this.finish(out);
    return out;
  }

  private countLines(text: string): void {
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c === LF) this.line++;
      else if (c === CR && text.charCodeAt(k + 1) !== LF) this.line++;
    }
  }

  private finish(out: SourceRecord[]): void {
    if (this.started || this.field !== '') {
      this.fields.push(this.field);
      out.push({ fields: this.fields, line: this.recordLine });
    }
    this.fields = [];
    this.field = '';
    this.closed = false;
    this.started = false;
  }
}

export class TsvReader implements RecordReader {
  private rest = '';
  private line = 0;

  push(chunk: string): SourceRecord[] {
    const text = this.rest + chunk;
    const out: SourceRecord[] = [];
    let start = 0;
    let nl = text.indexOf('\n', start);
    while (nl >= 0) {
      this.emit(text.slice(start, nl), out);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.rest = text.slice(start);
    return out;
  }

  end(): SourceRecord[] {
    const out: SourceRecord[] = [];
    if (this.rest !== '') this.emit(this.rest, out);
    this.rest = '';
    return out;
  }

  private emit(raw: string, out: SourceRecord[]): void {
    this.line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text !== '') out.push({ fields: text.split('\t'), line: this.line });
  }
}

export function recordReader(format: 'csv' | 'tsv'): RecordReader {
  return format === 'csv' ? new CsvReader(',') : new TsvReader();
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One record as a CSV line (RFC 4180 quoting where needed), with the trailing LF. */
export function csvLine(fields: readonly string[]): string {
  let s = '';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] ?? '';
    if (i > 0) s += ',';
    s += NEEDS_QUOTES.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
  }
  return s + '\n';
}

/** One record as a TSV line (fields never hold TAB or LF: the reader split on them). */
export function tsvLine(fields: readonly string[]): string {
  return fields.join('\t') + '\n';
}
