/** Pulls exact byte counts out of an async stream of chunks (a decrypted archive). */
export class ByteReader {
  private readonly iterator: AsyncIterator<Buffer | string>;
  private buffered: Buffer[] = [];
  private bufferedSize = 0;
  private ended = false;
  /** Bytes handed out so far: the offset of the next byte. */
  offset = 0;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.bufferedSize < n && (await this.fill()));
    return this.take(Math.min(n, this.bufferedSize));
  }

  /** Yields the next `n` bytes in pieces as they arrive; throws if the stream ends first. */
  async *pieces(n: number, onShort: () => Error): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.bufferedSize === 0 && !(await this.fill())) throw onShort();
      const piece = this.take(Math.min(left, this.bufferedSize));
      left -= piece.length;
      yield piece;
    }
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    this.buffered.push(chunk);
    this.bufferedSize += chunk.length;
    return true;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedSize = rest.length;
    this.offset += n;
    return out;
  }
}
