import fs from 'node:fs';
import { isS3Url } from '../storage/s3-url.js';
import type { CatalogRow } from '../storage/catalog.js';
import { UserError } from '../errors.js';

/** A directory, or an S3 prefix (ending in /): the drill takes its newest archive. */
export function isFolder(text: string): boolean {
  if (isS3Url(text)) return text.endsWith('/');
  try {
    return fs.statSync(text).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The newest archive of the folder (of `app` when named): by the manifest's time, as prune
 * orders a series. Archives whose manifest cannot be read are not candidates; that the newest
 * readable one restores is what the drill is there to find out.
 */
export function newestArchive(rows: CatalogRow[], where: string, app?: string): CatalogRow {
  const ours = rows.filter((r) => r.source && r.createdAt && (!app || r.source.app === app));
  const apps = [...new Set(ours.map((r) => `${r.source!.namespace}/${r.source!.app}`))].sort();
  if (ours.length === 0) {
    throw new UserError(
      `no archive${app ? ` of app ${app}` : ''} in ${where} (kubectl entando list ${where} shows what is there)`,
    );
  }
  if (!app && apps.length > 1) {
    throw new UserError(
      `${where} holds archives of ${apps.join(', ')}: name one with --app, or name the archive`,
    );
  }
  return ours.sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())[0];
}
