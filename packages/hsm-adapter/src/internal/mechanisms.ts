// The PKCS#11 mechanisms each operation of Pkcs11KeyBackend needs (PKCS#11 2.40 §2.3 for EC,
// §2.8 for AES-GCM), and the names of mechanism numbers. The fault-injecting wrapper of
// @sigil/hsm-adapter/testing and `sigil hsm doctor` read the same table.
import pkcs11js from 'pkcs11js';

/** What each token operation needs on the token, by CKM_* name. */
export const SIGIL_MECHANISMS = {
  generateKeyPair: ['CKM_EC_KEY_PAIR_GEN'],
  sign: ['CKM_ECDSA'],
  verify: ['CKM_ECDSA'],
  deriveSharedSecret: ['CKM_ECDH1_DERIVE'],
  generateWrappingKey: ['CKM_AES_KEY_GEN', 'CKM_AES_GCM'],
  wrap: ['CKM_AES_GCM'],
  unwrap: ['CKM_AES_GCM'],
} as const satisfies Record<string, readonly string[]>;

/** A CKM_* name that some Sigil operation needs. */
export type SigilMechanism = (typeof SIGIL_MECHANISMS)[keyof typeof SIGIL_MECHANISMS][number];

// PKCS#11 3.0 mechanisms that pkcs11js 2.1.7 has no name for (PKCS#11 3.0 §6.3, Edwards and
// Montgomery curves; SoftHSM 2.6 lists them).
const MISSING_FROM_PKCS11JS: readonly (readonly [string, number])[] = [
  ['CKM_EC_EDWARDS_KEY_PAIR_GEN', 0x1055],
  ['CKM_EC_MONTGOMERY_KEY_PAIR_GEN', 0x1056],
  ['CKM_EDDSA', 0x1057],
];

// pkcs11js exports aliases (CKM_ECDSA_KEY_PAIR_GEN = CKM_EC_KEY_PAIR_GEN, PKCS#11 2.40
// §2.3.3); the names Sigil uses win, then the first exported.
const PREFERRED: ReadonlySet<string> = new Set(Object.values(SIGIL_MECHANISMS).flat());
const NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>(MISSING_FROM_PKCS11JS.map(([name, value]) => [value, name]));
  for (const [name, value] of Object.entries(pkcs11js as unknown as Record<string, unknown>)) {
    if (!name.startsWith('CKM_') || typeof value !== 'number') continue;
    if (!names.has(value) || PREFERRED.has(name)) names.set(value, name);
  }
  return names;
})();

/** CKM_VENDOR_DEFINED (PKCS#11 2.40 §3.6): mechanisms at or above it are the vendor's own. */
const CKM_VENDOR_DEFINED = 0x80000000;

/** The CKM_* name of a mechanism number (`CKM_0x…`, or `CKM_VENDOR_0x…`, when it has none). */
export function mechanismName(type: number): string {
  const hex = (type >>> 0).toString(16).padStart(8, '0');
  return NAMES.get(type) ?? (type >>> 0 >= CKM_VENDOR_DEFINED ? `CKM_VENDOR_0x${hex}` : `CKM_0x${hex}`);
}
