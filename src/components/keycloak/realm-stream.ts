/**
 * Reads an archived realm JSON as a stream: the top-level fields one by one, and the elements of
 * the large arrays (`users`, `federatedUsers`) one at a time, so a restore never holds the realm
 * whole (100,000 users are ~250 MB of JSON). A byte scanner, not a parser: it tracks strings,
 * escapes and nesting to find where each value ends and leaves the parsing of each piece to
 * JSON.parse. Multi-byte UTF-8 is safe: every byte it looks at (quotes, backslashes, brackets,
 * commas, colons) is ASCII, which never occurs inside a multi-byte sequence.
 */
import { OperationError } from '../../errors.js';

export type RealmPiece =
  /** A top-level field, its value's JSON text. */
  | { kind: 'field'; key: string; json: Buffer }
  /** One element of a streamed array field, its JSON text. */
  | { kind: 'element'; key: string; json: Buffer };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

type Phase =
  | 'start' // before the top-level '{'
  | 'key' // expecting a key (or '}')
  | 'colon'
  | 'value' // expecting a value
  | 'after' // after a value: ',' or '}'
  | 'elements' // inside a streamed array: expecting an element (or ']')
  | 'element-after' // after an element: ',' or ']'
  | 'end';

/**
 * Splits a realm's JSON text into pieces; `streamed` names the array fields whose elements come
 * one by one. Feed it chunks; each call returns the pieces that chunk completed.
 */
export class RealmSplitter {
  private phase: Phase = 'start';
  private key = '';
  /** Bytes of the value (key, field or element) being captured, across chunks. */
  private parts: Buffer[] = [];
  private capturing: 'key' | 'field' | 'element' | undefined;
  /** Nesting inside the captured value (0: a scalar, or the value's own brackets closed). */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The captured value is a container (ends when its depth returns to 0). */
  private container = false;

  constructor(private readonly streamed: ReadonlySet<string>) {}

  push(chunk: Buffer): RealmPiece[] {
    const out: RealmPiece[] = [];
    let start = 0; // where the capture began in this chunk
    let i = 0;
    const n = chunk.length;
    let nextBackslash = -1;
    while (i < n) {
      if (this.capturing) {
        // Inside a string: jump to the next quote, minding backslashes.
        if (this.inString) {
          if (this.escaped) {
            this.escaped = false;
            i++;
            continue;
          }
          // The next backslash is looked up once per chunk position, not once per string.
          if (nextBackslash < i) nextBackslash = indexOr(chunk, BACKSLASH, i, n);
          const q = indexOr(chunk, QUOTE, i, n);
          if (nextBackslash < q) {
            this.escaped = true;
            i = nextBackslash + 1;
            continue;
          }
          if (q === n) {
            i = n;
            break;
          }
          this.inString = false;
          i = q + 1;
          if (this.capturing === 'key') {
            this.parts.push(chunk.subarray(start, i));
            this.key = JSON.parse(Buffer.concat(this.parts).toString('utf8')) as string;
            this.parts = [];
            this.capturing = undefined;
            this.phase = 'colon';
            continue;
          }
          if (!this.container) {
            // A string scalar value ends with its quote.
            this.parts.push(chunk.subarray(start, i));
            out.push(this.finish());
          }
          continue;
        }
        const b = chunk[i];
        if (b === QUOTE) {
          this.inString = true;
          i++;
          continue;
        }
        if (this.container) {
          if (b === OPEN_OBJ || b === OPEN_ARR) this.depth++;
          else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
            this.depth--;
            if (this.depth === 0) {
              this.parts.push(chunk.subarray(start, i + 1));
              out.push(this.finish());
            }
          }
          i++;
          continue;
        }
        // A number, true, false or null: ends before ',', '}', ']' or a space.
        if (b === COMMA || b === CLOSE_OBJ || b === CLOSE_ARR || isSpace(b)) {
          this.parts.push(chunk.subarray(start, i));
          out.push(this.finish());
          continue; // the delimiter is read by the phase below
        }
        i++;
        continue;
      }
      const b = chunk[i];
      if (isSpace(b)) {
        i++;
        continue;
      }
      switch (this.phase) {
        case 'start':
          if (b !== OPEN_OBJ) throw notRealm('it does not start with {');
          this.phase = 'key';
          break;
        case 'key':
          if (b === CLOSE_OBJ) this.phase = 'end';
          else if (b === QUOTE) {
            this.capturing = 'key';
            this.inString = true;
            start = i;
          } else throw notRealm('a field name was expected');
          break;
        case 'colon':
          if (b !== COLON) throw notRealm(`no ':' after "${this.key}"`);
          this.phase = 'value';
          break;
        case 'value':
          if (b === OPEN_ARR && this.streamed.has(this.key)) {
            this.phase = 'elements';
            break;
          }
          this.begin('field', b);
          start = i;
          break;
        case 'after':
          if (b === COMMA) this.phase = 'key';
          else if (b === CLOSE_OBJ) this.phase = 'end';
          else throw notRealm(`',' or '}' expected after "${this.key}"`);
          break;
        case 'elements':
          if (b === CLOSE_ARR) {
            this.phase = 'after';
            break;
          }
          this.begin('element', b);
          start = i;
          break;
        case 'element-after':
          if (b === COMMA) this.phase = 'elements';
          else if (b === CLOSE_ARR) this.phase = 'after';
          else throw notRealm(`',' or ']' expected in "${this.key}"`);
          break;
        case 'end':
          throw notRealm('text follows its closing }');
      }
      i++;
    }
    if (this.capturing) this.parts.push(chunk.subarray(start, n));
    return out;
  }

  /** Throws unless the text ended exactly at the top-level closing brace. */
  end(): void {
    if (this.phase !== 'end' || this.capturing) throw notRealm('it ends early');
  }

  /** A value starts with byte `first` (consumed): a container, a string or another scalar. */
  private begin(what: 'field' | 'element', first: number): void {
    this.capturing = what;
    this.container = first === OPEN_OBJ || first === OPEN_ARR;
    this.depth = this.container ? 1 : 0;
    this.inString = first === QUOTE;
    this.parts = [];
  }

  private finish(): RealmPiece {
    const json = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    const kind = this.capturing as 'field' | 'element';
    this.parts = [];
    this.capturing = undefined;
    this.container = false;
    this.phase = kind === 'field' ? 'after' : 'element-after';
    // A copy: the piece must not pin the whole chunk it was cut from.
    return { kind, key: this.key, json: Buffer.from(json) };
  }
}

/** Where `byte` next occurs at or after `from`, or `n` (the chunk's length) when nowhere. */
function indexOr(buf: Buffer, byte: number, from: number, n: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? n : at;
}

const notRealm = (why: string) =>
  new OperationError(`the archived realm is not a JSON object as expected: ${why}`);

/** The pieces of a realm read from `chunks`, in order. */
export async function* realmPieces(
  chunks: AsyncIterable<Buffer>,
  streamed: ReadonlySet<string>,
): AsyncGenerator<RealmPiece> {
  const splitter = new RealmSplitter(streamed);
  for await (const chunk of chunks) yield* splitter.push(chunk);
  splitter.end();
}
