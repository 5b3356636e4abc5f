// Incremental multipart/form-data parser (no dependency in package.json parses multipart).
// push() returns events in order so the caller can await each write, like upstream's
// actix-multipart field stream which the upload handler consumes field by field.

export type PartEvent =
  | { kind: 'part'; name: string | undefined; disposition: string | undefined }
  | { kind: 'data'; data: Buffer }
  | { kind: 'end' };

/** The boundary of a multipart Content-Type, or undefined (upstream then sees no fields). */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\//i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

export class MultipartParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  private readonly delim: Buffer;

  constructor(boundary: string) {
    // Every delimiter but the first is preceded by CRLF; the preamble starts as if after one.
    this.delim = Buffer.from(`\r\n--${boundary}`);
    this.buf = Buffer.from('\r\n');
  }

  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): PartEvent[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const events: PartEvent[] = [];
    for (;;) {
      if (this.state === 'done') {
        this.buf = Buffer.alloc(0); // epilogue is ignored
        return events;
      }
      if (this.state === 'preamble' || this.state === 'body') {
        const i = this.buf.indexOf(this.delim);
        // After the delimiter: "--" closes, anything else up to CRLF is transport padding.
        const after = i < 0 ? -1 : i + this.delim.length;
        if (i < 0 || this.buf.length < after + 2) {
          if (this.state === 'body') {
            // Keep a possible partial delimiter at the end.
            const keep = Math.min(this.buf.length, this.delim.length + 1);
            const emit = i < 0 ? this.buf.length - keep : i;
            if (emit > 0) events.push({ kind: 'data', data: this.buf.subarray(0, emit) });
            this.buf = this.buf.subarray(Math.max(emit, 0));
          }
          return events;
        }
        if (this.state === 'body' && i > 0) {
          events.push({ kind: 'data', data: this.buf.subarray(0, i) });
        }
        if (this.state === 'body') events.push({ kind: 'end' });
        if (this.buf.subarray(after, after + 2).toString() === '--') {
          this.state = 'done';
          continue;
        }
        const eol = this.buf.indexOf('\r\n', after);
        if (eol < 0) {
          this.buf = this.buf.subarray(i); // wait for the rest of the delimiter line
          if (this.state === 'body') this.state = 'preamble';
          return events;
        }
        this.buf = this.buf.subarray(eol + 2);
        this.state = 'headers';
      }
      if (this.state === 'headers') {
        const end = this.buf.indexOf('\r\n\r\n');
        // A part with no header lines has its blank line right away.
        const empty = this.buf.subarray(0, 2).toString() === '\r\n';
        if (end < 0 && !empty) return events;
        const raw = empty ? '' : this.buf.subarray(0, end).toString('utf8');
        this.buf = this.buf.subarray(empty ? 2 : end + 4);
        events.push(partOf(raw));
        // The body starts right after the blank line; an empty body is the delimiter at 0.
        this.state = 'body';
      }
    }
  }

  /**
   * At the end of the request body: true when it stopped inside a part's data, which
   * actix-multipart reports as "incomplete" while the field is read (a 400); cut anywhere
   * else, the field loop just ends.
   */
  incompleteBody(): boolean {
    return this.state === 'body';
  }
}

function partOf(raw: string): PartEvent {
  let disposition: string | undefined;
  for (const line of raw.split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0 && line.slice(0, c).trim().toLowerCase() === 'content-disposition') {
      disposition = line.slice(c + 1).trim();
    }
  }
  const m = disposition && /;\s*name=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
  const name = m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]) : undefined;
  return { kind: 'part', name, disposition };
}
