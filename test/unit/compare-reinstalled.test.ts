import { expect } from 'chai';
import { markReinstalled } from '../../src/compare/reinstalled.js';
import { ABSENT, type CompareRow } from '../../src/compare/rows.js';
import type { BundlesSummary } from '../../src/contract/manifest.js';

const bundles: BundlesSummary = {
  recorded: true,
  bundles: [
    {
      code: 'simple-ms-bundle-6cd85816',
      installed: true,
      version: '1.0.2',
      plugins: [{ pluginCode: 'pn-6cd85816-93ce70fd-simple-ms' }],
    },
    { code: 'gone-1', installed: false, plugins: [{ pluginCode: 'pn-1-2-gone' }] },
  ],
};

const missing = (name: string, source = ABSENT): CompareRow => ({
  section: 'object',
  name,
  source,
  target: source === ABSENT ? 'abc' : ABSENT,
  verdict: 'missing',
});

describe('verify after a bundle reinstall', () => {
  it('a plugin and link the reinstall made, not in the archive: expected, with the bundle named', () => {
    const rows = markReinstalled(
      [
        missing('EntandoPlugin ns/pn-6cd85816-93ce70fd-simple-ms'),
        missing('EntandoAppPluginLink ns/qs-pn-6cd85816-93ce70fd-simple-ms-link'),
        missing('EntandoPlugin ns/pn-1-2-gone'), // its bundle was not installed
        missing('EntandoPlugin ns/hand-made'),
        missing('EntandoPlugin ns/pn-6cd85816-93ce70fd-simple-ms', 'abc'), // lost, not made
      ],
      bundles,
      'qs',
    );
    expect(rows.map((r) => r.verdict)).to.deep.equal([
      'expected',
      'expected',
      'missing',
      'missing',
      'missing',
    ]);
    expect(rows[0].why).to.include('reinstall of bundle simple-ms-bundle-6cd85816');
  });
});
