/**
 * Version strings as clusters spell them (image tags, server banners): `15.1.1`,
 * `18.0.2-legacy`, `v7.1.6`, `6.3.2-fix.1`, `15.0.2.redhat-00001`, `v14.8`, `12.x`. Only the
 * leading dotted numbers count; whatever follows (a flavour, a build) does not order releases.
 */

/** The leading dotted numbers of a version (`v` prefix allowed); undefined when there are none. */
export function versionNumbers(raw: string | undefined): number[] | undefined {
  const m = /^[vV]?(\d+(?:\.\d+)*)/.exec((raw ?? '').trim());
  if (!m) return undefined;
  return m[1].split('.').map(Number);
}

/**
 * The tag of an image reference (`registry:5000/org/name:tag@sha256:...` gives `tag`);
 * undefined for a digest-only or untagged reference, which names no version.
 */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(colon + 1) || undefined : undefined;
}

/** The repository name of an image without registry, organisation or tag (`entando-keycloak`). */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0];
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  return last.split(':')[0];
}

/**
 * Orders two versions by their first `depth` numbers (all by default): -1 when `a` is older,
 * 1 when newer, 0 when equal as far as both go (`12` and `12.5` are equal: the shorter one does
 * not say more); undefined when either has no numbers.
 */
export function compareVersions(
  a: string | undefined,
  b: string | undefined,
  depth = Infinity,
): -1 | 0 | 1 | undefined {
  const x = versionNumbers(a);
  const y = versionNumbers(b);
  if (!x || !y) return undefined;
  const n = Math.min(x.length, y.length, depth);
  for (let i = 0; i < n; i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

/** The first `depth` numbers of a version, joined (`14.8.1`, 1 gives `14`). */
export function versionPrefix(raw: string, depth: number): string | undefined {
  return versionNumbers(raw)?.slice(0, depth).join('.');
}
