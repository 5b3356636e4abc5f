/**
 * What `restore --verify` checks, said once (docs/restore.md and the command's output); in a
 * module of its own so that the CLI's option help loads no compare code.
 */
export const VERIFY_SCOPE =
  'objects (as the restore transformed them), every files tree (entries, modes, sizes, symlink targets, sha256 of each file from the archived tar), every table (row counts from the archived dump) and the realm counts (users, clients, groups, realm roles from the manifest)';
