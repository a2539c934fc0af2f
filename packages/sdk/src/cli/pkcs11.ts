// PKCS#11 for the CLI. @sigil/hsm-adapter (a native addon) is loaded with a dynamic import
// whose specifier is not a literal, so the SDK has no static dependency on it: browser
// bundles never see it, and `sigil encrypt` without --sign-with runs without it.
import { SigilError } from '../errors.js';
import type { KeyBackend, KeyRef } from '../backend/key-backend.js';
import { UsageError } from './usage-error.js';

/** The part of @sigil/hsm-adapter the CLI uses. */
interface HsmAdapterModule {
  readonly Pkcs11KeyBackend: {
    open(options: { module: string; token: string; pin: string }): Promise<TokenBackend>;
  };
}

export interface TokenBackend extends KeyBackend {
  close(): Promise<void>;
}

export interface TokenOptions {
  readonly module: string | undefined;
  readonly token: string | undefined;
}

const ADAPTER = '@sigil/hsm-adapter';

/** Opens the token named on the command line, with the PIN from SIGIL_PKCS11_PIN. */
export async function openToken(options: TokenOptions, env: Readonly<Record<string, string | undefined>>): Promise<TokenBackend> {
  const module = options.module ?? env['SIGIL_PKCS11_MODULE'];
  if (module === undefined || module === '') throw new UsageError('--pkcs11-module (or SIGIL_PKCS11_MODULE) is required');
  if (options.token === undefined || options.token === '') throw new UsageError('--token is required');
  const pin = env['SIGIL_PKCS11_PIN'];
  if (pin === undefined || pin === '') throw new UsageError('set the token PIN in the environment variable SIGIL_PKCS11_PIN');
  let adapter: HsmAdapterModule;
  try {
    adapter = (await import(ADAPTER)) as HsmAdapterModule;
  } catch (cause) {
    throw new SigilError('E_HSM_UNAVAILABLE', 'PKCS#11 needs the package @sigil/hsm-adapter next to @sigil/sdk (npm install @sigil/hsm-adapter).', { cause });
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
