// Path handling of the CDS stand-in. Upstream (entando-ps/cds v1.0.4 src/handlers.rs, utils.rs)
// builds every path as `PathBuf::from("entando-data/").push(<request tail>)` relative to the
// process cwd, and echoes those strings back in JSON; this module reproduces the strings while
// mapping them onto a configurable data directory, and refuses what upstream would let escape.
import { join } from 'node:path';

/** What upstream prefixes every path with (relative to its cwd `/`). */
export const BASE = 'entando-data/';

/** Thrown for a request path that would leave the data directory (upstream serves it). */
export class TraversalError extends Error {
  constructor(readonly requested: string) {
    super(`path traversal refused by the CDS stand-in: ${JSON.stringify(requested)}`);
  }
}

/**
 * actix-router 0.5 `Url` requoting, which the handlers' `match_info().query()` see: every %XX is
 * decoded except %2F, %25 and %2B, which stay as literal text.
 */
export function requote(raw: string): string {
  return decodeBytes(raw, (hex) => !['2f', '25', '2b'].includes(hex.toLowerCase()));
}

/** `web::Path<String>` extraction (public port): everything decoded, %2F included. */
export function fullDecode(requoted: string): string {
  return decodeBytes(requoted, () => true);
}

function decodeBytes(s: string, decode: (hex: string) => boolean): string {
  if (!s.includes('%')) return s;
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
    if (bytes[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex) && decode(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(bytes[i]);
  }
  return Buffer.from(out).toString('utf8');
}

/** Rust `PathBuf::push` on strings: an absolute part replaces, an empty one adds a separator. */
export function rustPush(base: string, part: string): string {
  if (part.startsWith('/')) return part;
  return base === '' || base.endsWith('/') ? base + part : `${base}/${part}`;
}

/** Rust `Path::file_name`: the last normal component ("a/b/" and "a/b/." give "b"). */
export function fileName(p: string): string {
  const parts = p.split('/').filter((c, i) => c !== '' && (c !== '.' || i === 0));
  return parts[parts.length - 1] ?? '';
}

/**
 * The data directory standing for upstream's `entando-data/`. `rel` is the request tail as
 * upstream pushes it; absolute tails and `..` components are refused (upstream's
 * `PathBuf::push` would replace the base, and the OS would resolve `..`).
 */
export class DataRoot {
  constructor(readonly dir: string) {}

  fsPath(rel: string): string {
    if (escapes(rel)) throw new TraversalError(rel);
    return join(this.dir, rel);
  }

  /** The string upstream reports for `rel` (e.g. `entando-data/public/cms`). */
  shown(rel: string): string {
    return rustPush(BASE, rel);
  }
}

export function escapes(rel: string): boolean {
  return rel.startsWith('/') || rel.includes('\0') || rel.split('/').includes('..');
}
