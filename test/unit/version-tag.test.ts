import { expect } from 'chai';
import {
  compareVersions,
  imageName,
  imageTag,
  versionNumbers,
  versionPrefix,
} from '../../src/util/version-tag.js';
import {
  dbmsMajorDepth,
  entandoFact,
  imageInfoVersion,
  keycloakBasis,
  keycloakOfImage,
  parseDbmsBanner,
} from '../../src/entando/release-versions.js';
import { DOCKER_IMAGE_INFO } from '../../sandbox/fixture/entando-7.3.0.js';

describe('version tags', () => {
  const numbers: [string | undefined, number[] | undefined][] = [
    ['15.1.1', [15, 1, 1]],
    ['18.0.2-legacy', [18, 0, 2]],
    ['7.3.0', [7, 3, 0]],
    ['v7.1.6', [7, 1, 6]],
    ['6.3.2-fix.1', [6, 3, 2]],
    ['6.3.68-fix.3-ENG-3332-PR-335', [6, 3, 68]],
    ['15.0.2.redhat-00001', [15, 0, 2]],
    ['v14.8', [14, 8]],
    ['12.x', [12]],
    [' 8.0.33\n', [8, 0, 33]],
    ['latest', undefined],
    ['sha256:0123abcd', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [raw, want] of numbers) {
    it(`${JSON.stringify(raw)} has the numbers ${JSON.stringify(want)}`, () =>
      expect(versionNumbers(raw)).to.deep.equal(want));
  }

  const images: [string, string | undefined, string][] = [
    ['registry.hub.docker.com/entando/entando-keycloak:7.3.0', '7.3.0', 'entando-keycloak'],
    ['quay.io/keycloak/keycloak:18.0.2-legacy', '18.0.2-legacy', 'keycloak'],
    ['jboss/keycloak:15.1.1', '15.1.1', 'keycloak'],
    ['localhost:5000/entando/entando-postgres-rocky:v14.8', 'v14.8', 'entando-postgres-rocky'],
    ['localhost:5000/entando/entando-postgres-rocky', undefined, 'entando-postgres-rocky'],
    [`entando/entando-keycloak@sha256:${'a'.repeat(64)}`, undefined, 'entando-keycloak'],
    [`entando/entando-keycloak:7.1.1@sha256:${'a'.repeat(64)}`, '7.1.1', 'entando-keycloak'],
  ];
  for (const [image, tag, name] of images) {
    it(`${image}: tag ${tag}, name ${name}`, () => {
      expect(imageTag(image)).to.equal(tag);
      expect(imageName(image)).to.equal(name);
    });
  }

  it('orders by the numbers, flavours aside; the shorter one does not say more', () => {
    expect(compareVersions('15.1.1', '18.0.2-legacy')).to.equal(-1);
    expect(compareVersions('18.0.2-legacy', '18.0.2')).to.equal(0);
    expect(compareVersions('v7.1.6', '7.3.0')).to.equal(-1);
    expect(compareVersions('7.3.0', '6.3.2-fix.1')).to.equal(1);
    expect(compareVersions('7.1.10', '7.1.9')).to.equal(1);
    expect(compareVersions('12.x', '12.5')).to.equal(0);
    expect(compareVersions('14.1.0', 'v14.8', 1)).to.equal(0);
    expect(compareVersions('14.1.0', 'v14.8')).to.equal(-1);
    expect(compareVersions('latest', '7.3.0')).to.equal(undefined);
    expect(versionPrefix('14.8.1', 1)).to.equal('14');
  });
});

describe('Entando release versions', () => {
  it("Keycloak of Entando's images, by release; unknown tags are not guessed", () => {
    const kc = (image: string) => keycloakOfImage(image)?.version;
    expect(kc('entando/entando-keycloak:7.1.1')).to.equal('15.1.1');
    expect(kc('entando/entando-keycloak:7.0.0')).to.equal('15.1.1');
    expect(kc('registry.hub.docker.com/entando/entando-keycloak:7.3.0')).to.equal('18.0.2');
    expect(kc('entando/entando-keycloak:7.2.0')).to.equal('18.0.2');
    expect(kc('entando/entando-redhat-sso:7.1.1')).to.equal('15.0.2');
    expect(kc('entando/entando-redhat-sso:7.3.0')).to.equal('18.0');
    expect(kc('quay.io/keycloak/keycloak:18.0.2-legacy')).to.equal('18.0.2-legacy');
    expect(kc('entando/entando-keycloak:7.5.0')).to.equal(undefined);
    expect(kc('entando/entando-keycloak:6.3.9')).to.equal(undefined);
    expect(kc('entando/entando-keycloak@sha256:abc')).to.equal(undefined);
    expect(kc('example/my-sso:1.0')).to.equal(undefined);
  });

  it("RH-SSO's product versions count as the Keycloak they are based on", () => {
    expect(keycloakBasis('7.5.0.GA')).to.equal('15.0.2');
    expect(keycloakBasis('7.6.1.GA')).to.equal('18.0');
    expect(keycloakBasis('15.1.1')).to.equal('15.1.1');
  });

  it('DBMS banners: product and version', () => {
    expect(
      parseDbmsBanner(
        'PostgreSQL 14.8 on x86_64-pc-linux-gnu, compiled by gcc (GCC) 8.5.0 20210514, 64-bit\n',
      ),
    ).to.deep.equal({ product: 'postgresql', version: '14.8' });
    expect(parseDbmsBanner('8.0.33\n')).to.deep.equal({ product: 'mysql', version: '8.0.33' });
    expect(parseDbmsBanner('10.11.6-MariaDB-0+deb12u1\n')).to.deep.equal({
      product: 'mariadb',
      version: '10.11.6',
    });
    expect(parseDbmsBanner('ERROR')).to.equal(undefined);
    expect(dbmsMajorDepth('postgresql', '14.8')).to.equal(1);
    expect(dbmsMajorDepth('postgresql', '9.6.24')).to.equal(2);
    expect(dbmsMajorDepth('mysql', '8.0.33')).to.equal(2);
  });

  it("the 7.3.0 image info: Entando from the app engine's entry; a malformed entry is skipped", () => {
    expect(entandoFact(DOCKER_IMAGE_INFO, 'ConfigMap ns/entando-docker-image-info')).to.deep.equal({
      version: '7.3.0',
      from: 'ConfigMap ns/entando-docker-image-info, entry entando-de-app-wildfly-6-4',
    });
    expect(imageInfoVersion(DOCKER_IMAGE_INFO, 'postgresql-12-centos7')).to.equal('v14.8');
    expect(imageInfoVersion(DOCKER_IMAGE_INFO, 'rhel8-mysql-80')).to.equal(undefined);
    expect(imageInfoVersion(DOCKER_IMAGE_INFO, 'entando-keycloak')).to.equal('7.3.0');
    const none = entandoFact(undefined, 'ConfigMap ns/entando-docker-image-info');
    expect(none.version).to.equal('unknown');
    expect(none.why).to.match(/^no ConfigMap ns\/entando-docker-image-info/);
  });
});
