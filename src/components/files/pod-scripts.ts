/**
 * Every shell script the files component runs in a pod, in one place: they run under the pod's
 * `sh` (busybox ash or dash as often as bash), so they are POSIX sh, and
 * test/unit/pod-scripts.test.ts runs `shellcheck -s sh` on each. Arguments come as $1, $2...
 * (`sh -c SCRIPT sh ARG...`): nothing from the archive or the cluster is pasted into a script.
 */

// Backup: one tar of a tree, or its listing and the tar of a list of names (--file-streams).

/**
 * GNU tar keeps the holes of sparse files (pax format 1.0; the extra pax records deleted so
 * that other files get plain ustar headers, as before); another tar (busybox) archives a hole
 * as zeros, restored allocated.
 */
export const TAR_CREATE_SCRIPT = [
  'if tar --version 2>/dev/null | grep -q "GNU tar"; then',
  '  exec tar --sparse --format=posix --pax-option=delete=atime,delete=ctime,delete=mtime -cf - -C "$1" "$2"',
  'fi',
  'exec tar -cf - -C "$1" "$2"',
].join('\n');

/**
 * Lists `$2` under `$1` as NUL-terminated records "<type> <size> <path>" (type d: directory,
 * l: symlink, f: anything else), the root first; exits 99 where find or tar is not GNU's (the
 * tree is then read as one stream, as before).
 */
export const LIST_TREE_SCRIPT = [
  'cd "$1" || exit 1',
  '# shellcheck disable=SC2185 # find asked its version: no search, no path',
  'find --version 2>/dev/null | grep -q GNU || exit 99',
  'tar --version 2>/dev/null | grep -q "GNU tar" || exit 99',
  `exec find "$2" \\( -type d -printf 'd %s %p\\0' \\) -o \\( -type l -printf 'l %s %p\\0' \\) -o -printf 'f %s %p\\0'`,
].join('\n');

/** The exit code of LIST_TREE_SCRIPT where the pod's tools cannot split a tree. */
export const LIST_UNSUPPORTED = 99;

/**
 * `tar -c` of the names on stdin (NUL-separated, relative to `$1`), none recursed into; the
 * same format options as TAR_CREATE_SCRIPT (GNU tar: sparse holes kept, plain ustar headers).
 */
export const TAR_LIST_SCRIPT = [
  'cd "$1" || exit 1',
  'exec tar --sparse --format=posix --pax-option=delete=atime,delete=ctime,delete=mtime --no-recursion --null --verbatim-files-from -T - -cf -',
].join('\n');

// Restore: staged beside the old directory, swapped in whole.

/** Names beside the restored directory while it is extracted and swapped in. */
export const STAGING_PREFIX = '.kubectl-entando-restore-';
export const OLD_PREFIX = '.kubectl-entando-old-';

/** Extracts into a fresh staging directory beside the target, in the pod. */
export const EXTRACT_SCRIPT = [
  'set -e',
  'cd "$1"',
  `s="${STAGING_PREFIX}$2"`,
  // keep: another stream of the same tree is (or was) extracted there (a split tree).
  'if [ "$4" != keep ]; then rm -rf "$s" && mkdir "$s"; fi',
  '[ -d "$s" ]',
  // GNU tar recreates the holes of sparse files; busybox would write its sparse map as a file.
  'if [ "$3" = sparse ] && ! tar --version 2>/dev/null | grep -q "GNU tar"; then',
  '  echo "the archive holds sparse files (holes kept) and the tar of this pod is not GNU tar: restore into a pod with GNU tar (--volume-pod-image for a volume pod)" >&2',
  '  exit 3',
  'fi',
  'exec tar -xpf - -C "$s"',
].join('\n');

/** A fresh staging directory for the streams of a split tree. */
export const STAGE_SCRIPT = [
  'set -e',
  'cd "$1"',
  `s="${STAGING_PREFIX}$2"`,
  'rm -rf "$s"',
  'mkdir "$s"',
].join('\n');

/**
 * Swaps the extracted directory in for the old one (run only after a checked, whole stream).
 * With $3, the extracted tree must hold that many entries (what the archive's tars hold): tar
 * exits 0 on a stream that ends at a header boundary without its end blocks, and `kubectl
 * exec` can lose the end of stdin (kubernetes/kubernetes#124571); names are counted by NUL,
 * so a name holding a newline counts once.
 */
export const SWAP_SCRIPT = [
  'set -e',
  'cd "$1"',
  'd="$2"',
  `s="${STAGING_PREFIX}$d"`,
  `o="${OLD_PREFIX}$d"`,
  '[ -d "$s/$d" ]',
  'if [ -n "$3" ]; then',
  '  n=$(find "$s/$d" -print0 | tr -cd "\\000" | wc -c | tr -d " ")',
  '  if [ "$n" != "$3" ]; then',
  '    echo "the extracted tree holds $n entries, the archive $3: the stream into tar was cut short (kubernetes/kubernetes#124571); $1/$d was left as it was: run the same restore with --existing update" >&2',
  '    exit 4',
  '  fi',
  'fi',
  'rm -rf "$o"',
  'if [ -e "$d" ] || [ -L "$d" ]; then mv "$d" "$o"; fi',
  'mv "$s/$d" "$d"',
  'rm -rf "$o" "$s"',
].join('\n');
