// Unit tests of the fixture generators (no cluster needed).
import { expect } from 'chai';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileContent, planResources, type FileEntry } from '../../sandbox/fixture/files.js';
import { pluginCode } from '../../sandbox/cm/names.js';
import { bundleCrs, bundleDescriptors, pluginCrs } from '../../sandbox/fixture/objects.js';
import { datasourceScript } from '../../sandbox/fixture/rows.js';
import {
  bundleId,
  linkName,
  loadFixture,
  parseSize,
  pluginName,
} from '../../sandbox/fixture/spec.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

describe('sandbox fixtures: generators', () => {
  it('plans the same tree for the same seed, another for another seed', () => {
    const a = planResources(42, 120, 3_000_000, true);
    const b = planResources(42, 120, 3_000_000, true);
    const c = planResources(43, 120, 3_000_000, true);
    expect(a).to.deep.equal(b);
    expect(a).to.not.deep.equal(c);
    const file = a.find((e) => e.type === 'file' && e.size > 0) as Extract<
      FileEntry,
      { type: 'file' }
    >;
    expect(fileContent(42, file).equals(fileContent(42, file))).to.equal(true);
    expect(fileContent(42, file).equals(fileContent(43, file))).to.equal(false);
  });

  it('honours count and total size, with the awkward cases', () => {
    const plan = planResources(1, 200, 20 * 1024 * 1024, true);
    const files = plan.filter((e) => e.type === 'file') as Extract<FileEntry, { type: 'file' }>[];
    expect(files).to.have.length(200);
    expect(files.reduce((n, f) => n + f.size, 0)).to.equal(20 * 1024 * 1024);
    const paths = plan.map((e) => e.path);
    expect(paths.some((p) => [...p].some((ch) => ch.charCodeAt(0) > 127))).to.equal(true); // unicode
    expect(paths.some((p) => p.includes(' '))).to.equal(true);
    expect(paths.some((p) => p.split('/').length > 12)).to.equal(true); // deep
    expect(plan.filter((e) => e.type === 'symlink')).to.have.length(3);
    expect(files.filter((f) => f.size === 0).length).to.be.at.least(2);
    expect(paths).to.include('resources/empty-dir');
    expect(paths.every((p) => p.startsWith('resources') || p.startsWith('protected'))).to.equal(
      true,
    );
  });

  it('writes deterministic SQL per dialect', () => {
    const pg = datasourceScript('postgresql', 'u_portdb_12345', 5, 'portdb', 50);
    expect(pg).to.equal(datasourceScript('postgresql', 'u_portdb_12345', 5, 'portdb', 50));
    expect(pg).to.include('SET ROLE "u_portdb_12345"');
    expect(pg).to.include('BYTEA');
    const my = datasourceScript('mysql', 'u_portdb_12345', 5, 'portdb', 50);
    expect(my).to.include('USE `u_portdb_12345`');
    expect(my).to.include('LONGBLOB');
  });

  it('loads the shipped fixtures', () => {
    for (const name of ['default', 'mysql', 'embedded']) {
      const f = loadFixture(join(ROOT, 'sandbox', 'fixtures', `${name}.yaml`));
      expect(f.namespace).to.match(/^entando-/);
    }
    const f = loadFixture(join(ROOT, 'sandbox', 'fixtures', 'default.yaml'), { namespace: 'x1' });
    expect(f.namespace).to.equal('x1');
    expect(f.app.dbms).to.equal('postgresql');
    expect(f.files.totalBytes).to.equal(20 * 1024 * 1024);
    // With a Keycloak the component manager stand-in installs the plugin from its bundle, under
    // the name the CM computes; the fixture's pluginName must agree with it.
    expect(pluginCrs(f)).to.deep.equal([]);
    const descriptor = bundleDescriptors(f).find((d) => d.plugins?.length)!;
    expect(pluginCode(descriptor.url, descriptor.plugins![0])).to.equal(pluginName(f.plugins[0]));
    const noKeycloak = loadFixture(join(ROOT, 'sandbox', 'fixtures', 'default.yaml'), {
      namespace: 'x1',
      keycloak: false,
    });
    const plugins = pluginCrs(noKeycloak);
    expect(plugins[0].metadata.name).to.match(
      new RegExp(`^pn-${bundleId(f.plugins[0].bundle)}-[0-9a-f]{8}-simple-ms$`),
    );
    expect(plugins[1].metadata.name).to.equal(linkName('quickstart', plugins[0].metadata.name));
    expect(bundleCrs(f)).to.have.length(3);
    expect(parseSize('1.5MB')).to.equal(1_500_000);
  });

  it('bundleId is the first 8 hex of sha256(url without protocol)', () => {
    expect(bundleId('https://github.com/a/b.git')).to.equal(bundleId('github.com/a/b.git'));
    expect(bundleId('docker://x/y')).to.match(/^[0-9a-f]{8}$/);
  });
});
