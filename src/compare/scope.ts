/**
 * What `restore --verify` checks, said once (docs/restore.md and the command's output); in a
 * module of its own so that the CLI's option help loads no compare code.
 */
export const VERIFY_SCOPE =
  "objects (as the restore transformed them), every files tree and CDS volume (entries, modes, sizes, symlink targets, sha256 of each file from the archived tar), every table, secondary tenants' schemas included (row counts from the archived dump), and the counts of the realm and of each carried tenant realm (users, clients, groups, realm roles from the manifest)";
