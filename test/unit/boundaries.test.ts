import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function imports(dir: string): { file: string; spec: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return imports(path);
    if (!path.endsWith('.ts')) return [];
    const text = readFileSync(path, 'utf8');
    return [...text.matchAll(/from '([^']+)'/g)].map((m) => ({
      file: relative(ROOT, path),
      spec: join(relative(ROOT, dir), m[1]),
    }));
  });
}

describe('module boundaries: restore and components meet in src/contract', () => {
  it('components import nothing of src/restore', () => {
    const found = imports(join(ROOT, 'src/components')).filter((i) =>
      i.spec.startsWith('src/restore/'),
    );
    expect(found).to.deep.equal([]);
  });

  it('restore imports nothing of src/components (the CLI passes the components in)', () => {
    const found = imports(join(ROOT, 'src/restore')).filter((i) =>
      i.spec.startsWith('src/components/'),
    );
    expect(found).to.deep.equal([]);
  });

  it('the contract imports nothing of either but the order table', () => {
    const found = imports(join(ROOT, 'src/contract')).filter(
      (i) =>
        i.spec.startsWith('src/components/') ||
        (i.spec.startsWith('src/restore/') && i.spec !== 'src/restore/order.js'),
    );
    expect(found).to.deep.equal([]);
  });
});
