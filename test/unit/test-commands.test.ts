import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../helpers/sandbox.js';

const require = createRequire(import.meta.url);
const { loadOptions } = require('mocha/lib/cli/options.cjs') as {
  loadOptions: (args: string[]) => {
    _?: string[];
    spec?: string[];
    ignore?: string[];
    extension?: string[];
  };
};
const collectFiles = require('mocha/lib/cli/collect-files.cjs') as (o: object) => {
  files: string[];
};

const scripts = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

/** The files mocha runs for an npm script: scripts/test's specs merged with .mocharc.json. */
function filesOf(script: string): string[] {
  const cmd = scripts[script]!;
  expect(cmd, script).to.match(/^bash scripts\/test\b/);
  const args = cmd.split(/\s+/).slice(2);
  const specs = execFileSync('bash', ['scripts/test', ...args], {
    cwd: ROOT,
    env: { ...process.env, KUBECTL_ENTANDO_TEST_PLAN: '1' },
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const opts = loadOptions(specs);
    return collectFiles({
      ignore: opts.ignore ?? [],
      extension: opts.extension ?? ['js'],
      file: [],
      recursive: false,
      sort: false,
      // mocha runs the positional specs and the config's `spec` together.
      spec: [...(opts._ ?? []), ...(opts.spec ?? [])],
    }).files.map((f) => path.relative(ROOT, f));
  } finally {
    process.chdir(cwd);
  }
}

describe('npm test commands run what the README says', () => {
  it('test:unit runs only the unit suites (no sandbox), and some of them', () => {
    const files = filesOf('test:unit');
    expect(files.length).to.be.greaterThan(10);
    expect(files.filter((f) => !f.startsWith('dist/test/unit/'))).to.deep.equal([]);
  });

  for (const group of ['sandbox', 'e2e', 'release']) {
    it(`test:${group} runs only the ${group} suites`, () => {
      const files = filesOf(`test:${group}`);
      expect(files.length).to.be.greaterThan(0);
      expect(files.filter((f) => !f.startsWith(`dist/test/${group}/`))).to.deep.equal([]);
    });
  }

  it('npm test runs every suite of every group', () => {
    const files = filesOf('test');
    for (const group of ['unit', 'sandbox', 'e2e', 'release']) {
      expect(
        files.some((f) => f.startsWith(`dist/test/${group}/`)),
        group,
      ).to.equal(true);
    }
  });

  it('a single suite by name, and an unknown one refused with the fix', () => {
    const plan = (args: string[]) =>
      execFileSync('bash', ['scripts/test', ...args], {
        cwd: ROOT,
        env: { ...process.env, KUBECTL_ENTANDO_TEST_PLAN: '1' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    expect(plan(['e2e/keycloak', '--grep', 'realm'])).to.equal('dist/test/e2e/keycloak.test.js\n');
    expect(() => plan(['nosuch'])).to.throw(/unknown suite 'nosuch'/);
  });
});
