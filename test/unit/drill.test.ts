import { expect } from 'chai';
import { drillHost, drillNames, drillNamespace } from '../../src/drill/names.js';
import { newestArchive } from '../../src/drill/pick.js';
import { duration, markdownReport, textReport, type DrillReport } from '../../src/drill/report.js';
import { check } from '../../src/drill/checks.js';
import type { CatalogRow } from '../../src/storage/catalog.js';
import { UserError } from '../../src/errors.js';

function row(app: string, ns: string, at: string, name = `${app}-${at}`): CatalogRow {
  return {
    stored: {
      location: { name } as CatalogRow['stored']['location'],
      size: 1,
      modified: new Date(at),
    },
    source: { server: 's', context: 'c', namespace: ns, app },
    createdAt: new Date(at),
  };
}

describe('drill', () => {
  it('names: a namespace and host of its own, the id always kept within 63 characters', () => {
    expect(drillNamespace('entando', 'ab1cd')).to.equal('entando-drill-ab1cd');
    const long = drillNamespace('x'.repeat(70), 'ab1cd');
    expect(long).to.have.length(63);
    expect(long.endsWith('-drill-ab1cd')).to.equal(true);
    expect(drillNamespace(`${'a'.repeat(54)}-bbbb`, 'q')).to.equal(`${'a'.repeat(54)}-drill-q`);
    expect(drillHost('qs.apps.example.com', 'ab1cd')).to.equal('qs-drill-ab1cd.apps.example.com');
    expect(drillHost('localhost', 'ab1cd')).to.equal('localhost-drill-ab1cd');
    const names = drillNames(
      { namespace: 'qs', otherNamespaces: ['qs-ecr', 'sso'], host: 'qs.example.com' },
      'z9',
    );
    expect(names).to.deep.equal({
      id: 'z9',
      namespace: 'qs-drill-z9',
      namespaceMap: { 'qs-ecr': 'qs-ecr-drill-z9', sso: 'sso-drill-z9' },
      host: 'qs-drill-z9.example.com',
    });
    expect(
      drillNames({ namespace: 'qs', otherNamespaces: [] }, 'z9', 'd.example.com').host,
    ).to.equal('d.example.com');
  });

  it('the newest archive of a folder, of the app named; several apps without --app refused', () => {
    const rows = [
      row('qs', 'a', '2026-12-01T02:00:00Z'),
      row('qs', 'a', '2026-12-03T02:00:00Z'),
      row('qs', 'a', '2026-12-02T02:00:00Z'),
      {
        stored: { location: { name: 'junk' }, size: 1, modified: new Date() },
        problem: 'not ours',
      },
    ] as CatalogRow[];
    expect(newestArchive(rows, 'dir/').stored.location.name).to.equal('qs-2026-12-03T02:00:00Z');
    const two = [...rows, row('other', 'b', '2026-12-04T00:00:00Z')];
    expect(() => newestArchive(two, 'dir/')).to.throw(
      UserError,
      /a\/qs, b\/other: name one with --app/,
    );
    expect(newestArchive(two, 'dir/', 'qs').stored.location.name).to.equal(
      'qs-2026-12-03T02:00:00Z',
    );
    expect(() => newestArchive(two, 'dir/', 'nope')).to.throw(UserError, /no archive of app nope/);
  });

  it('a check that throws is failed, in its own words', async () => {
    const failed = await check('verify', () => Promise.reject(new Error('3 items differ')));
    expect(failed).to.include({ name: 'verify', outcome: 'failed', detail: '3 items differ' });
    const skipped = await check('app-health', async () => ({
      outcome: 'skipped' as const,
      detail: 'no answer',
    }));
    expect(skipped.outcome).to.equal('skipped');
  });

  it('the report: recovery point and time, every check, in Markdown and text', () => {
    expect(duration(93784)).to.equal('1d 2h 3m 4s');
    expect(duration(0)).to.equal('0s');
    expect(duration(3600)).to.equal('1h');
    const r: DrillReport = {
      passed: false,
      archive: 's3://b/qs/qs-a-20261201T020000Z.tar.age',
      app: 'qs',
      source: { context: 'prod', namespace: 'a' },
      archiveCreatedAt: '2026-12-01T02:00:00Z',
      recoveryPointSeconds: 7260,
      target: { context: 'dr', namespace: 'a-drill-x', namespaceMap: {}, host: 'h' },
      startedAt: '2026-12-01T04:01:00.000Z',
      finishedAt: '2026-12-01T04:05:00.000Z',
      recoveryTimeSeconds: 95,
      checks: [
        { name: 'restore', outcome: 'passed', detail: '12 steps applied', seconds: 80 },
        { name: 'verify', outcome: 'failed', detail: 'table a|b differs', seconds: 3 },
      ],
      cleanup: { outcome: 'passed', detail: 'deleted a-drill-x' },
    };
    const md = markdownReport(r);
    expect(md).to.match(/^# Restore drill: FAILED/);
    expect(md).to.include('| Recovery point (archive age) | 2h 1m |');
    expect(md).to.include('| Recovery time (to a ready app) | 1m 35s |');
    expect(md).to.include('| verify | FAIL | 3 | table a\\|b differs |');
    expect(md).to.include('| cleanup | PASS |');
    const text = textReport(r);
    expect(text.at(-1)).to.equal('drill FAILED');
    expect(text).to.include('FAIL  verify   table a|b differs');
  });
});
