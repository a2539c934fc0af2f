// @sigil/hsm-adapter is an optional peer of the server: a directory that keeps its log key in a
// software file never loads it (nor the PKCS#11 native addon under it). It is imported here, by
// its literal name, only when a token is configured.
import { SigilError } from '@sigil/sdk/errors';

type HsmAdapter = typeof import('@sigil/hsm-adapter');

function resolves(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads @sigil/hsm-adapter for a configured PKCS#11 token.
 *
 * @throws SigilError `E_HSM_UNAVAILABLE` (detail `hsm-adapter-not-installed`) if the package is
 *   not installed, or (detail `hsm-adapter-not-loaded`) if it is but fails to load, for example a
 *   native addon that was not built; the original error is the `cause`.
 */
export async function loadHsmAdapter(): Promise<HsmAdapter> {
  try {
    return await import('@sigil/hsm-adapter');
  } catch (e) {
    // ERR_MODULE_NOT_FOUND says that some module is missing, not which one: resolving the
    // adapter's own name tells "not installed" apart from "installed, one of its imports missing".
    if ((e as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && !resolves('@sigil/hsm-adapter')) {
      throw new SigilError(
        'E_HSM_UNAVAILABLE',
        'A PKCS#11 token is configured but @sigil/hsm-adapter is not installed: run `npm install @sigil/hsm-adapter` beside @sigil/server, or drop --pkcs11-module.',
        { cause: e, detail: 'hsm-adapter-not-installed' },
      );
    }
    throw new SigilError('E_HSM_UNAVAILABLE', '@sigil/hsm-adapter is installed but failed to load (is its PKCS#11 native addon built?).', {
      cause: e,
      detail: 'hsm-adapter-not-loaded',
    });
  }
}
