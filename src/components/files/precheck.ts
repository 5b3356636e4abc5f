import { TarHeaderCheck } from './tar-check.js';
import type { HeaderCheckOutcome } from '../../contract/tree-check.js';

export type { HeaderCheckOutcome } from '../../contract/tree-check.js';

/**
 * data/files/<app|plugin>/<owner>/<qualifier>/<dir>[.stream-N].tar, or
 * data/files/cds/<namespace>/<deployment>/<dir>.tar (files/backup.ts entryPathFor). A name it
 * misreads only costs a check pass: the root must match the manifest.
 */
const TREE_PATH = /^data\/files\/(?:app|plugin|cds)\/[^/]+\/[^/]+\/([^/]+?)(?:\.stream-\d+)?\.tar$/;

/**
 * Checks the tar headers of every files tree while the verifying pass reads it, so a restore
 * reads each tree once fewer (no separate check pass before extraction). The outcome counts
 * only once the pass has verified every entry against the manifest; the files step refuses
 * an unsafe tree from it, as it would after its own check.
 */
export class TreeHeaderChecks {
  private readonly running = new Map<string, TarHeaderCheck>();

  /** Feeds one member of the pass (a part of a tree, in order); false when not a tree. */
  async visit(path: string, body: AsyncIterable<Buffer>): Promise<boolean> {
    const tree = TREE_PATH.exec(path);
    if (!tree) return false;
    let check = this.running.get(path);
    if (!check) {
      check = new TarHeaderCheck(tree[1]);
      this.running.set(path, check);
    }
    for await (const piece of body) await check.write(piece);
    return true;
  }

  /** Ends every check: what each found, by entry path. */
  async finish(): Promise<Map<string, HeaderCheckOutcome>> {
    const out = new Map<string, HeaderCheckOutcome>();
    for (const [path, check] of this.running) {
      try {
        out.set(path, { root: check.root, result: await check.finish() });
      } catch (err) {
        out.set(path, { root: check.root, error: err as Error });
      }
    }
    this.running.clear();
    return out;
  }
}
