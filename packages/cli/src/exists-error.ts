/**
 * The CLI was asked to replace something that exists: an output file without --force, or a
 * key label already on the token. Printed with its code, like a system error, and exits 1.
 */
export class ExistsError extends Error {
  override readonly name = 'ExistsError';
  readonly code = 'EEXIST';
}
