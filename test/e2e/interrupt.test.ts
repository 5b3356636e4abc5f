import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runBackup } from '../../src/backup/backup.js';
import { encryptionKeys } from '../../src/archive/encryption.js';
import { generateIdentity } from '../../src/archive/age/index.js';
import { dataPath } from '../../src/archive/layout.js';
import type { Component } from '../../src/components/component.js';
import { COMPONENTS } from '../../src/components/index.js';
import { resolveKube } from '../../src/kube/kubeconfig.js';
import { Output } from '../../src/report/output.js';
import { OperationError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { ORIGINAL_REPLICAS } from '../../src/kube/scale.js';
import {
  applyFixture,
  client,
  deleteNamespace,
  KUBECONFIG,
  randomSuffix,
  requireSandbox,
  SOURCE,
  waitFor,
} from '../helpers/sandbox.js';

/** A component whose stream never ends by itself: the backup is interrupted while it runs. */
function endlessComponent(started: () => void): Component {
  return {
    name: 'endless',
    backupAccess: () => [],
    restoreAccess: () => [],
    async backup(ctx) {
      const stream = new PassThrough();
      const timer = setInterval(() => stream.write(Buffer.alloc(64 * 1024)), 5);
      ctx.signal.addEventListener('abort', () => {
        clearInterval(timer);
        stream.destroy(new OperationError('interrupted'));
      });
      started();
      await ctx.archive.addStream(dataPath('endless', 'stream'), stream);
    },
    async plan() {
      return [];
    },
  };
}

describe('e2e: an interrupted backup leaves nothing behind', function () {
  this.timeout(2 * 60_000);
  const ns = `e2e-interrupt-${randomSuffix()}`;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    await requireSandbox();
    tmp = tempDir();
    await applyFixture('sandbox/fixtures/default.yaml', SOURCE, ns);
  });
  after(async () => {
    tmp?.cleanup();
    await deleteNamespace(SOURCE, ns).catch(() => undefined);
  });

  // Ctrl-C at different moments: before the data components' streams started (an already
  // aborted signal), while credentials are written and pods found, and mid-stream.
  for (const delayMs of [0, 300, 1500]) {
    it(`Ctrl-C ${delayMs} ms in: no archive, no partial file, a non-zero outcome, no hang`, async () => {
      const controller = new AbortController();
      const file = path.join(tmp.dir, 'qs.tar.age');
      const keys = await encryptionKeys({ recipient: [generateIdentity().recipient] }, { env: {} });
      const sink = new PassThrough();
      sink.resume();
      const backup = runBackup({
        kube: resolveKube({ kubeconfig: KUBECONFIG, context: SOURCE, namespace: ns }),
        file,
        keys,
        output: new Output(sink, sink, 'text', true, 0),
        signal: controller.signal,
        components: [
          ...COMPONENTS,
          endlessComponent(() => setTimeout(() => controller.abort(), delayMs)),
        ],
      });
      const err = await backup.catch((e) => e);
      expect(err).to.be.instanceOf(OperationError);
      expect(err.message).to.match(/interrupted/);
      expect(fs.readdirSync(tmp.dir)).to.deep.equal([]);
    });
  }

  it('a live backup first undoes the scale-down of a --quiesce run that was killed outright', async () => {
    const kube = client(SOURCE);
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'quickstart-deployment',
    };
    // What a SIGKILLed `backup --quiesce` leaves: replicas 0, the original in our annotation.
    await kube.mergePatch(ref, {
      metadata: { annotations: { [ORIGINAL_REPLICAS]: '1' } },
      spec: { replicas: 0 },
    });
    await waitFor('app engine scaled to 0', async () => {
      const d = await kube.get(ref);
      return ((d?.status as { replicas?: number })?.replicas ?? 0) === 0 ? true : undefined;
    });
    const sink = new PassThrough();
    sink.resume();
    const outcome = await runBackup({
      kube: resolveKube({ kubeconfig: KUBECONFIG, context: SOURCE, namespace: ns }),
      file: path.join(tmp.dir, 'after-kill.tar'),
      keys: undefined,
      output: new Output(sink, sink, 'text', true, 0),
      signal: new AbortController().signal,
    });
    expect(outcome.manifest.entries.some((e) => e.path.includes('/files/app/'))).to.equal(true);
    const d = await kube.get(ref);
    expect((d?.spec as { replicas?: number }).replicas).to.equal(1);
    expect(d?.metadata.annotations?.[ORIGINAL_REPLICAS]).to.equal(undefined);
    fs.rmSync(outcome.file);
  });
});
