// PKCS#11 for the CLI. @sigil/hsm-adapter (a dependency of this package) is imported only
// when a command needs the token: it loads the native addon pkcs11js, which `--help`,
// `--version` and `sigil encrypt` without --sign-with do without (they still run where the
// addon cannot load, and start about 0.1 s sooner).
import type { KeyBackend, KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import type { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { UsageError } from './usage-error.js';

export type TokenBackend = Pkcs11KeyBackend;

export interface TokenOptions {
  readonly module: string | undefined;
  readonly token: string | undefined;
}

/** Opens the token named on the command line, with the PIN from SIGIL_PKCS11_PIN. */
export async function openToken(options: TokenOptions, env: Readonly<Record<string, string | undefined>>): Promise<TokenBackend> {
  const module = options.module ?? env['SIGIL_PKCS11_MODULE'];
  if (module === undefined || module === '') throw new UsageError('--pkcs11-module (or SIGIL_PKCS11_MODULE) is required');
  if (options.token === undefined || options.token === '') throw new UsageError('--token is required');
  const pin = env['SIGIL_PKCS11_PIN'];
  if (pin === undefined || pin === '') throw new UsageError('set the token PIN in the environment variable SIGIL_PKCS11_PIN');
  let adapter: typeof import('@sigil/hsm-adapter');
  try {
    adapter = await import('@sigil/hsm-adapter');
  } catch (cause) {
    throw new SigilError('E_HSM_UNAVAILABLE', 'The PKCS#11 support of @sigil/hsm-adapter did not load (reinstall @sigil/cli so that its native addon pkcs11js builds for this Node).', { cause });
  }
  return adapter.Pkcs11KeyBackend.open({ module, token: options.token, pin });
}

/** The one key with this label and usage on the token. */
export async function findKeyByLabel(backend: KeyBackend, label: string, usage: 'sign' | 'agree'): Promise<KeyRef> {
  const found = await backend.listKeys({ label, usage });
  if (found.length === 0) throw new SigilError('E_KEY_NOT_FOUND', `No ${usage} key labelled "${label}" on the token.`);
  if (found.length > 1) throw new UsageError(`${found.length} ${usage} keys are labelled "${label}"; give each key a unique label`);
  return found[0] as KeyRef;
}

/** A view of `backend` whose getKey answers only for agree keys with this label (`--key`). */
export function onlyLabel(backend: KeyBackend, label: string): KeyBackend {
  return {
    generateKeyPair: (o) => backend.generateKeyPair(o),
    sign: (r, d) => backend.sign(r, d),
    deriveSharedSecret: (r, p) => backend.deriveSharedSecret(r, p),
    getKey: async (id) => {
      const ref = await backend.getKey(id);
      return ref !== undefined && ref.label === label ? ref : undefined;
    },
    listKeys: async (o) => (await backend.listKeys(o)).filter((r) => r.label === label),
    deleteKey: (r) => backend.deleteKey(r),
    describeKey: (r) => backend.describeKey(r),
  };
}
