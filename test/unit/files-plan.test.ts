import { expect } from 'chai';
import type { ExistingPolicy, LoadedArchive, PlanContext } from '../../src/components/component.js';
import { planFilesSteps } from '../../src/components/files/restore-plan.js';
import type { FilesEntryMeta } from '../../src/contract/manifest.js';
import type { PlanStep } from '../../src/contract/plan.js';
import { ScaleWindows } from '../../src/contract/scale-window.js';
import { ENTANDO_API } from '../../src/entando/kinds.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Results } from '../../src/report/results.js';
import { phase } from '../../src/restore/order.js';
import { COMPONENTS } from '../../src/components/index.js';
import { mappingFor, type PlanRequest } from '../../src/restore/restore.js';
import { FakeKube } from '../helpers/fakes.js';

const owned = (kind: string, name: string, qualifier: string, dir: string, embedded = false) => ({
  path: `data/files/${name}/${qualifier}/${dir}.tar`,
  size: 2048,
  sha256: '0'.repeat(64),
  meta: {
    component: 'files',
    owner: { kind, name },
    qualifier,
    deployment: `${name}-${qualifier}-deployment`,
    container: qualifier,
    claimName: `${name}-${qualifier}-pvc`,
    mountPath: '/entando-data',
    dir,
    embedded,
    via: 'app-pod',
    format: 'tar',
  } satisfies FilesEntryMeta,
});

const cr = (kind: string, name: string): KubeObject => ({
  apiVersion: ENTANDO_API,
  kind,
  metadata: { name, namespace: 'src' },
});

/**
 * App qs (resources and protected), plugin p1 (embedded databases), made by bundle b1, and
 * plugin p2 (no bundle).
 */
function archive(): LoadedArchive {
  return {
    manifest: {
      formatVersion: 1,
      tool: { name: 'kubectl-entando', version: 'test' },
      createdAt: '2026-01-01T00:00:00.000Z',
      source: { server: 's', context: 'c', namespace: 'src', app: 'qs' },
      components: {
        bundles: {
          recorded: true,
          bundles: [
            { code: 'b1', installed: true, version: '1.0.0', plugins: [{ pluginCode: 'p1' }] },
          ],
        },
      },
      warnings: [],
      entries: [
        owned('EntandoApp', 'qs', 'server', 'resources'),
        owned('EntandoApp', 'qs', 'server', 'protected'),
        owned('EntandoPlugin', 'p1', 'server', 'databases', true),
        owned('EntandoPlugin', 'p2', 'server', 'uploads'),
        // Not the files component's: left out.
        { path: 'data/databases/qs.sql', size: 10, sha256: '0'.repeat(64) },
      ],
    },
    objects: [cr('EntandoApp', 'qs'), cr('EntandoPlugin', 'p1'), cr('EntandoPlugin', 'p2')],
  } as unknown as LoadedArchive;
}

function planContext(
  req: Partial<PlanRequest>,
  opts: { existing?: ExistingPolicy; target?: FakeKube; windows?: ScaleWindows } = {},
): PlanContext {
  const loaded = archive();
  return {
    parallel: 1,
    archive: loaded,
    existing: opts.existing ?? 'fail',
    mapping: mappingFor(loaded, { components: COMPONENTS, targetNamespace: 'dst', ...req }),
    target: (opts.target ?? new FakeKube()).client,
    results: new Results(),
    windows: opts.windows ?? new ScaleWindows(),
  };
}

const facts = (s: PlanStep) => ({
  object: `${s.object!.kind} ${s.object!.namespace}/${s.object!.name}`,
  phase: s.phase,
  priority: s.priority,
  action: s.action,
});

describe('files restore plan', () => {
  it('one step per owner, each right after the databases of its kind', async () => {
    const steps = await planFilesSteps(planContext({ bundles: 'objects-only' }));
    expect(steps.map(facts)).to.deep.equal([
      {
        object: 'EntandoApp dst/qs',
        phase: 'files',
        priority: phase('app-files').priority,
        action: 'run',
      },
      {
        object: 'EntandoPlugin dst/p1',
        phase: 'files',
        priority: phase('plugin-files').priority,
        action: 'run',
      },
      {
        object: 'EntandoPlugin dst/p2',
        phase: 'files',
        priority: phase('plugin-files').priority,
        action: 'run',
      },
    ]);
    expect(steps[0].changes).to.deep.equal([
      'extract server /entando-data/protected (2.0 KiB tar)',
      'extract server /entando-data/resources (2.0 KiB tar)',
    ]);
    expect(steps.every((s) => s.component === 'files' && s.group === undefined)).to.equal(true);
  });

  it('files in the running server pod; embedded databases through a volume pod, scaled to 0', async () => {
    const [app, p1] = await planFilesSteps(planContext({ bundles: 'objects-only' }));
    expect(app.reason).to.equal(
      'once the operator deployed it: every tar entry checked first, then each directory extracted by tar in the running server pod and swapped in whole',
    );
    expect(p1.reason).to.match(
      /deployments scaled to 0 and each directory extracted through a short-lived pod that mounts the volume \(embedded databases\)/,
    );
  });

  it('a plugin the bundle reinstall makes: after the reinstall', async () => {
    const steps = await planFilesSteps(planContext({ bundles: 'reinstall' }));
    expect(steps.map((s) => [s.object!.name, s.priority])).to.deep.equal([
      ['qs', phase('app-files').priority],
      ['p1', phase('reinstalled-plugin-files').priority],
      ['p2', phase('plugin-files').priority],
    ]);
  });

  it('--bundles skip: the plugins are skipped, saying why; the app is restored', async () => {
    const steps = await planFilesSteps(planContext({ bundles: 'skip' }));
    expect(steps.map((s) => [s.object!.name, s.action, s.reason])).to.deep.equal([
      ['qs', 'run', steps[0].reason],
      ['p1', 'skip', 'plugins are not restored (--bundles skip)'],
      ['p2', 'skip', 'plugins are not restored (--bundles skip)'],
    ]);
    // What would have been extracted is still shown.
    expect(steps[1].changes).to.deep.equal([
      'extract server /entando-data/databases (2.0 KiB tar)',
    ]);
  });

  it('--existing skip: an owner already in the target keeps its files', async () => {
    const target = new FakeKube([
      { ...cr('EntandoApp', 'qs'), metadata: { name: 'qs', namespace: 'dst' } },
    ]);
    const steps = await planFilesSteps(
      planContext({ bundles: 'objects-only' }, { existing: 'skip', target }),
    );
    expect(steps.map((s) => [s.object!.name, s.action])).to.deep.equal([
      ['qs', 'skip'],
      ['p1', 'run'],
      ['p2', 'run'],
    ]);
    expect(steps[0].reason).to.equal(
      'EntandoApp qs exists in the target: its files are left as they are (--existing skip)',
    );
  });

  it('--existing update: an owner already in the target is restored all the same', async () => {
    const target = new FakeKube([
      { ...cr('EntandoApp', 'qs'), metadata: { name: 'qs', namespace: 'dst' } },
    ]);
    const steps = await planFilesSteps(
      planContext({ bundles: 'objects-only' }, { existing: 'update', target }),
    );
    expect(steps.map((s) => s.action)).to.deep.equal(['run', 'run', 'run']);
  });

  it('an owner whose databases joined a scale-down shares it (not for embedded databases)', async () => {
    const windows = new ScaleWindows();
    windows.of({ kind: 'EntandoApp', name: 'qs', namespace: 'dst' }).join();
    windows.of({ kind: 'EntandoPlugin', name: 'p1', namespace: 'dst' }).join();
    const steps = await planFilesSteps(planContext({ bundles: 'objects-only' }, { windows }));
    expect(steps.map((s) => [s.object!.name, s.group])).to.deep.equal([
      ['qs', 'data:EntandoApp/qs'],
      ['p1', undefined],
      ['p2', undefined],
    ]);
    expect(steps[0].reason).to.match(/^with its databases, in the same scale-down/);
    // The files step joined too: the window is left by its last step.
    expect(windows.joined({ kind: 'EntandoApp', name: 'qs' })!.size).to.equal(2);
    expect(windows.joined({ kind: 'EntandoPlugin', name: 'p1' })!.size).to.equal(1);
  });

  it('an archive without files entries: no step', async () => {
    const ctx = planContext({});
    ctx.archive.manifest.entries = [];
    expect(await planFilesSteps(ctx)).to.deep.equal([]);
  });
});
