import { entryStream } from '../../archive/entry-stream.js';
import { OperationError } from '../../errors.js';
import type { PlanContext } from '../component.js';

/** A small archive entry (realm, localization, admin credentials) read whole. */
export async function readEntry(ctx: PlanContext, path: string): Promise<Buffer> {
  const entry = ctx.archive.manifest.entries.find((e) => e.path === path);
  if (!entry) throw new OperationError(`the archive has no ${path}`);
  const chunks: Buffer[] = [];
  for await (const chunk of entryStream(ctx.archive, entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
