import type { EntryMeta, ManifestComponents, RecordedVersions } from '../contract/manifest.js';
import { FORMAT_VERSION } from './layout.js';

export interface ManifestEntry {
  /** Logical path (see layout.ts). */
  path: string;
  /** Size in bytes of the whole logical entry. */
  size: number;
  /** Hex sha256 of the whole logical entry. */
  sha256: string;
  /** Number of tar members the entry was split into (absent: one member named `path`). */
  parts?: number;
  /** Per-entry facts a component needs at restore time (e.g. schema, dbms): read by `metaOf`. */
  meta?: EntryMeta;
}

export interface ArchiveSource {
  server: string;
  context: string;
  namespace: string;
  app: string;
  entandoVersion?: string;
}

export interface Manifest {
  formatVersion: number;
  tool: { name: string; version: string };
  createdAt: string;
  source: ArchiveSource;
  /** Per-component summaries, e.g. resources: { counts: { Secret: 9 } }; each may be absent. */
  components: ManifestComponents;
  /** The source's Entando, Keycloak and DBMS versions (absent in an older archive). */
  versions?: RecordedVersions;
  warnings: string[];
  entries: ManifestEntry[];
}

export function newManifest(
  tool: Manifest['tool'],
  source: ArchiveSource,
  createdAt: Date,
): Manifest {
  return {
    formatVersion: FORMAT_VERSION,
    tool,
    createdAt: createdAt.toISOString(),
    source,
    components: {},
    warnings: [],
    entries: [],
  };
}

/** The manifest's `versions`, made when first written to. */
export function versionsOf(manifest: Manifest): RecordedVersions {
  return (manifest.versions ??= {});
}

/** Checks the shape of a manifest read back from an archive; returns a reason when invalid. */
export function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'manifest is not a JSON object';
  const m = value as Partial<Manifest>;
  if (typeof m.formatVersion !== 'number') return 'manifest has no formatVersion';
  if (m.formatVersion > FORMAT_VERSION) {
    return `archive format ${m.formatVersion} is newer than this tool supports (${FORMAT_VERSION}): upgrade kubectl-entando`;
  }
  if (!Array.isArray(m.entries)) return 'manifest has no entries list';
  for (const e of m.entries) {
    if (typeof e?.path !== 'string' || typeof e.size !== 'number' || typeof e.sha256 !== 'string') {
      return `manifest entry ${JSON.stringify(e)?.slice(0, 80)} lacks path, size or sha256`;
    }
  }
  if (typeof m.source !== 'object' || m.source === null) return 'manifest has no source';
  return undefined;
}
