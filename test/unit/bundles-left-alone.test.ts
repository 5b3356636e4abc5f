import { expect } from 'chai';
import type { PlanContext } from '../../src/contract/component.js';
import type { BundlesSummary, RecordedBundle } from '../../src/contract/manifest.js';
import { bundlesLeftAlone, leftAloneLines } from '../../src/components/bundles/left-alone.js';
import { planBundleSteps } from '../../src/components/bundles/restore.js';

const bundle = (code: string, b: Partial<RecordedBundle>): RecordedBundle => ({
  code,
  installed: false,
  plugins: [],
  namespace: 'qs-ecr',
  ...b,
});

const summary: BundlesSummary = {
  recorded: true,
  bundles: [
    bundle('fine', { installed: true, version: '1.0.0', lastJobStatus: 'INSTALL_COMPLETED' }),
    bundle('upgrade-failed', {
      installed: true,
      version: '1.0.0',
      lastJobStatus: 'INSTALL_ROLLBACK',
    }),
    bundle('install-failed', { lastJobStatus: 'INSTALL_ERROR' }),
    bundle('never', {}),
  ],
};

function plan(mode: 'reinstall' | 'objects-only', s: BundlesSummary = summary) {
  return planBundleSteps({
    mapping: {
      sourceNamespace: 'qs',
      targetNamespace: 'qs2',
      namespaceMap: { 'qs-ecr': 'qs2-ecr' },
      bundles: { mode, plugins: [] },
    },
    archive: {
      manifest: { source: { app: 'quickstart', namespace: 'qs' }, components: { bundles: s } },
      objects: [],
    },
  } as unknown as PlanContext);
}

describe('restore: bundles not reinstalled as recorded are named', () => {
  it('the plan names each, with its recorded state, where the reinstall would put it', async () => {
    const steps = await plan('reinstall');
    const rows = steps.map((s) => [s.action, s.object?.namespace, s.object?.name, s.reason]);
    const of = (name: string) => rows.find((r) => r[2] === name)!;
    expect(of('install-failed').slice(0, 2)).to.deep.equal(['skip', 'qs2-ecr']);
    expect(of('install-failed')[3]).to.equal(
      'not installed in the source (its last job ended INSTALL_ERROR): nothing to reinstall; the component manager offers it as in the source',
    );
    expect(of('never')[0]).to.equal('skip');
    expect(of('never')[3]).to.match(/^not installed in the source \(never installed\)/);
    expect(of('upgrade-failed')[0]).to.equal('run');
    expect(of('upgrade-failed')[3]).to.match(
      /; installed at 1\.0\.0 in the source, its last job ended INSTALL_ROLLBACK .*reinstalled at 1\.0\.0, the failed job not repeated$/,
    );
    expect(of('fine')[3]).to.not.match(/last job/);
  });

  it('the summary and JSON list the same bundles', () => {
    const list = bundlesLeftAlone(summary);
    expect(list.map((b) => [b.code, b.outcome, b.lastJobStatus])).to.deep.equal([
      ['upgrade-failed', 'reinstalled at its installed version', 'INSTALL_ROLLBACK'],
      ['install-failed', 'not reinstalled', 'INSTALL_ERROR'],
      ['never', 'not reinstalled', undefined],
    ]);
    const lines = leftAloneLines(list);
    expect(lines[0]).to.equal('  bundles not reinstalled as recorded (3):');
    expect(lines[2]).to.match(/^ {4}install-failed \(qs-ecr\): not installed in the source/);
    expect(leftAloneLines([])).to.deep.equal([]);
  });

  it('only not-installed bundles: no component manager wait, each still named', async () => {
    const steps = await plan('reinstall', {
      recorded: true,
      bundles: [bundle('never', {})],
    });
    expect(steps.map((s) => [s.phase, s.action, s.object?.name])).to.deep.equal([
      ['bundles-reinstall', 'skip', 'never'],
    ]);
  });
});
