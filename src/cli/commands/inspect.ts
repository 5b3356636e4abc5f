import { readManifest } from '../../archive/manifest-tail.js';
import type { Manifest } from '../../archive/manifest.js';
import type { VersionFact } from '../../contract/manifest.js';
import { describeKeycloak } from '../../components/keycloak/describe.js';
import { describeBundles } from '../../components/bundles/describe.js';
import { describeHandAddedEnv } from '../../components/resources/hand-env.js';
import { tenantBlockLines, tenantBlocks } from '../render/tenants.js';
import { defineCommand } from '../command.js';
import { archivePositional, decryptOptions, s3Options } from '../options.js';

export const inspectCommand = defineCommand({
  command: 'inspect <archive>',
  describe: 'Summarise what an archive holds (its manifest)',
  positionals: { archive: archivePositional },
  options: { ...decryptOptions, ...s3Options },
  examples: [['$0 inspect qs.tar.age -i key.txt -o json', 'the manifest as JSON']],
  run: async (args, ctx, output) => {
    const keys = ctx.decryptionKeys(args);
    const { manifest, encrypted } = await readManifest(
      ctx.location(args.archive, args, output),
      keys,
    );
    return { file: args.archive, encrypted, ...manifest };
  },
  render: (archive) => ({
    text: inspectText(archive),
    json: { ...archive, tenants: tenantBlocks(archive) },
  }),
});

/** The recorded versions, one line each, with where each was read (or why it is unknown). */
function versionLines(archive: Manifest): string[] {
  const v = archive.versions;
  if (!v) return ['not recorded (an archive of an older kubectl-entando)'];
  const line = (what: string, f: VersionFact, extra: string[] = []) =>
    `${what} ${f.version} (${[...extra, f.from ?? f.why].filter(Boolean).join('; ')})`;
  return [
    ...(v.entando ? [line('entando', v.entando)] : []),
    ...(v.keycloak ? [line('keycloak', v.keycloak)] : []),
    ...(v.dbms ?? []).map((d) =>
      line(`${d.dbms} ${d.server}`, d, [
        ...(d.product ? [d.product] : []),
        ...(d.image ? [`image ${d.image}`] : []),
      ]),
    ),
  ];
}

function inspectText(archive: Manifest & { file: string; encrypted: boolean }): string[] {
  const s = archive.source;
  const counts = archive.components.resources?.counts ?? {};
  const bytes = archive.entries.reduce((n, e) => n + e.size, 0);
  const { keycloak, bundles } = archive.components;
  const objects = Object.entries(counts).map(([k, n]) => `${k} ${n}`);
  const handEnv = describeHandAddedEnv(archive.components.resources?.handAddedEnv ?? []);
  const tenants = tenancyLines(archive);
  return [
    `archive:    ${archive.file} (${archive.encrypted ? 'age-encrypted' : 'NOT encrypted'}, format ${archive.formatVersion})`,
    `created:    ${archive.createdAt} by ${archive.tool.name} ${archive.tool.version}`,
    `source:     app ${s.app} in ${s.namespace}, context ${s.context}, server ${s.server}`,
    `entando:    ${s.entandoVersion ?? 'unknown'}`,
    ...versionLines(archive).map((l) => `versions:   ${l}`),
    `objects:    ${objects.join(', ') || 'none'}`,
    ...handEnv.map((l) => `hand env:   ${l}`),
    // With tenants, the app's realm is the primary's, in its block.
    ...(keycloak && tenants.length === 0 ? [`keycloak:   ${describeKeycloak(keycloak)}`] : []),
    ...(bundles ? describeBundles(bundles).map((l) => `bundles:    ${l}`) : []),
    ...tenants,
    `entries:    ${archive.entries.length}, ${bytes} bytes`,
    ...archive.warnings.map((w) => `warning:    ${w}`),
  ];
}

/** One block per tenant (what was carried for it), then the app-wide Redis switch. */
function tenancyLines(archive: Manifest): string[] {
  const record = archive.components.resources?.tenancy;
  const blocks = tenantBlocks(archive).flatMap((b) => tenantBlockLines(b, !!record?.solrActive));
  const redis = record?.redisActive
    ? [`REDIS_ACTIVE=true (${record.redisActiveFrom}): caches and sessions not carried`]
    : [];
  return [
    ...blocks.map((l) => `${l.startsWith(' ') ? '           ' : 'tenant:     '}${l}`),
    ...redis.map((l) => `redis:      ${l}`),
  ];
}
