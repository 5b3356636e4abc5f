import { expect } from 'chai';
import type { KubeObject } from '../../src/kube/object.js';
import { podLike, VolumePod } from '../../src/kube/volume-pod.js';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'qs-deployment', namespace: 'ns' },
  spec: {
    template: {
      spec: {
        securityContext: { fsGroup: 185 },
        imagePullSecrets: [{ name: 'registry' }],
        serviceAccountName: 'entando-app',
        containers: [
          { name: 'sidecar', image: 'other:1' },
          { name: 'server', image: 'entando/app:7.3', securityContext: { runAsUser: 185 } },
        ],
      },
    },
  },
};

describe("volume pod like a server's", () => {
  it("takes the container's image and security context and the pod's user, pull secrets and account", () => {
    const like = podLike(deployment, 'server')!;
    const pod = VolumePod.manifest(
      { namespace: 'ns', owner: 'qs', purpose: 'files', image: like.image, like: like.like },
      'qs-files-1',
    );
    const spec = pod.spec as Record<string, unknown> & { containers: Record<string, unknown>[] };
    expect(spec.securityContext).to.deep.equal({ fsGroup: 185 });
    expect(spec.imagePullSecrets).to.deep.equal([{ name: 'registry' }]);
    expect(spec.serviceAccountName).to.equal('entando-app');
    expect(spec).to.not.have.any.keys('nodeSelector', 'tolerations');
    expect(spec.containers[0].image).to.equal('entando/app:7.3');
    expect(spec.containers[0].securityContext).to.deep.equal({ runAsUser: 185 });
    expect(spec.containers[0].command).to.deep.equal(['sleep', String(6 * 3600)]);
  });

  it('a container the deployment lacks: nothing to be like', () => {
    expect(podLike(deployment, 'missing')).to.equal(undefined);
  });
});
