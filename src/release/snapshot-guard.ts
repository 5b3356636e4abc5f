import v8 from 'node:v8';

/**
 * Imported first by src/release/sea-entry.ts. A startup snapshot cannot hold what owns a
 * native handle (V8: "CheckGlobalAndEternalHandles failed"), and two modules the CLI loads
 * make one at their top level: yargs' platform shim reads `process.stdout.columns` (opening
 * stdout), and string-width (yargs' help layout) creates an `Intl.Segmenter` (ICU). So while
 * the snapshot is built, `process.stdout` is a stand-in without columns (the CLI sets yargs'
 * width itself) and `Intl.Segmenter` makes segmenters that create the real one on first use,
 * which is at run time; both are put back before the heap is serialized.
 */
if (v8.startupSnapshot.isBuildingSnapshot()) {
  const stdout = Object.getOwnPropertyDescriptor(process, 'stdout')!;
  Object.defineProperty(process, 'stdout', { configurable: true, get: () => ({}) });
  const Segmenter = Intl.Segmenter;
  class LazySegmenter {
    #real: Intl.Segmenter | undefined;
    constructor(private readonly args: ConstructorParameters<typeof Intl.Segmenter>) {}
    segment(input: string): Intl.Segments {
      return (this.#real ??= new Segmenter(...this.args)).segment(input);
    }
    resolvedOptions(): Intl.ResolvedSegmenterOptions {
      return (this.#real ??= new Segmenter(...this.args)).resolvedOptions();
    }
  }
  const intl = Intl as { Segmenter: unknown };
  intl.Segmenter = function (...args: ConstructorParameters<typeof Intl.Segmenter>) {
    return new LazySegmenter(args);
  };
  v8.startupSnapshot.addSerializeCallback(() => {
    Object.defineProperty(process, 'stdout', stdout);
    intl.Segmenter = Segmenter;
  });
}
