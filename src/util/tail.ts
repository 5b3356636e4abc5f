/**
 * The last `max` bytes of what was seen, with `chunk` added: one char per byte (latin1, never
 * re-encoded), only the chunk's own last `max` bytes converted.
 */
export function latin1Tail(tail: string, chunk: Buffer, max: number): string {
  return (tail + chunk.toString('latin1', Math.max(0, chunk.length - max))).slice(-max);
}
