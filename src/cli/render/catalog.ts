import { formatBytes } from '../../report/progress.js';
import { formatTable } from '../../report/table.js';
import type { CatalogRow } from '../../storage/catalog.js';

/** An archive of a folder as list and prune print it in JSON. */
export function rowJson(row: CatalogRow) {
  return {
    location: row.stored.location.name,
    size: row.stored.size,
    modified: row.stored.modified.toISOString(),
    ...(row.source
      ? {
          app: row.source.app,
          namespace: row.source.namespace,
          context: row.source.context,
          server: row.source.server,
          createdAt: row.createdAt!.toISOString(),
          encryption: row.encrypted ? 'age' : 'none',
        }
      : { problem: row.problem }),
  };
}

/** The table of `list`. */
export function listText(rows: CatalogRow[]): string[] {
  if (rows.length === 0) return ['no archives'];
  const table = rows.map((r) =>
    r.source
      ? [
          r.createdAt!.toISOString().replace(/\.\d+Z$/, 'Z'),
          r.source.app,
          r.source.namespace,
          r.source.context,
          formatBytes(r.stored.size),
          r.encrypted ? 'age' : 'none',
          r.stored.location.name,
        ]
      : [
          '?',
          '?',
          '?',
          '?',
          formatBytes(r.stored.size),
          '?',
          `${r.stored.location.name} (${r.problem})`,
        ],
  );
  return formatTable(
    ['CREATED', 'APP', 'NAMESPACE', 'CONTEXT', 'SIZE', 'ENCRYPTION', 'LOCATION'],
    table,
  );
}
