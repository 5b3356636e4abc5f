/**
 * Calls `fn` once when `signal` aborts, or right away if it already has (a listener added to
 * an aborted signal never fires). Returns a function that removes the listener.
 */
export function whenAborted(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
