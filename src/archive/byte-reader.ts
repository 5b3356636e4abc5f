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

  /**
   * The next `n` buffered bytes: a view when the first buffered chunk holds them, else a copy
   * of just those bytes (the rest stays as views: no copy of the whole buffer per read).
   */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.offset += n;
    this.bufferedSize -= n;
    const first = this.buffered[0];
    if (first.length >= n) {
      if (first.length === n) this.buffered.shift();
      else this.buffered[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.buffered[0];
      const used = Math.min(piece.length, n - filled);
      piece.copy(out, filled, 0, used);
      filled += used;
      if (used === piece.length) this.buffered.shift();
      else this.buffered[0] = piece.subarray(used);
    }
    return out;
  }
}
