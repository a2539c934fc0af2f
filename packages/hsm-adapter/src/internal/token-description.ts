// What a token says about itself: C_GetTokenInfo and, per mechanism, C_GetMechanismInfo
// (PKCS#11 2.40 §5.5). Read for `Pkcs11KeyBackend.describeToken()` and `sigil hsm doctor`.
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { mechanismName } from './mechanisms.js';

/** One mechanism the token reports, with what C_GetMechanismInfo says of it. */
export interface MechanismDescription {
  /** CKM_* name (`CKM_0x…` when pkcs11js has no name for it). */
  readonly name: string;
  /** The CK_MECHANISM_TYPE number. */
  readonly type: number;
  /** Key sizes, in bits or bytes as the mechanism defines them (bits for EC, bytes for AES). */
  readonly minKeySize: number;
  readonly maxKeySize: number;
  /** The CKF_* flags set in CK_MECHANISM_INFO, by name (`CKF_SIGN`, `CKF_DERIVE`, ...). */
  readonly flags: readonly string[];
}

/** What {@link Pkcs11KeyBackend.describeToken} returns. */
export interface TokenDescription {
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serialNumber: string;
  /** The slot is a hardware slot (CKF_HW_SLOT); SoftHSM's is not. */
  readonly hardware: boolean;
  /** Every mechanism of the token's slot, in the order C_GetMechanismList gave them. */
  readonly mechanisms: readonly MechanismDescription[];
}

// CK_MECHANISM_INFO flags (PKCS#11 2.40 §3.6, table 34), in the table's order.
const FLAG_NAMES = [
  'CKF_HW',
  'CKF_ENCRYPT',
  'CKF_DECRYPT',
  'CKF_DIGEST',
  'CKF_SIGN',
  'CKF_SIGN_RECOVER',
  'CKF_VERIFY',
  'CKF_VERIFY_RECOVER',
  'CKF_GENERATE',
  'CKF_GENERATE_KEY_PAIR',
  'CKF_WRAP',
  'CKF_UNWRAP',
  'CKF_DERIVE',
] as const;
// pkcs11js exports no names for the EC flags (PKCS#11 2.40 §2.3, table 13).
const EC_FLAGS: readonly (readonly [string, number])[] = [
  ['CKF_EC_F_P', 0x100000],
  ['CKF_EC_F_2M', 0x200000],
  ['CKF_EC_ECPARAMETERS', 0x400000],
  ['CKF_EC_NAMEDCURVE', 0x800000],
  ['CKF_EC_UNCOMPRESS', 0x1000000],
  ['CKF_EC_COMPRESS', 0x2000000],
];
const MECHANISM_FLAGS: readonly (readonly [string, number])[] = [
  ...FLAG_NAMES.map((name) => [name, (pkcs11js as unknown as Record<string, number>)[name] ?? 0] as const),
  ...EC_FLAGS,
];

/** Reads the token in `slot` and each of its mechanisms. Throws what pkcs11js throws. */
export function readTokenDescription(lib: PKCS11, slot: Buffer, hardware: boolean): TokenDescription {
  const info = lib.C_GetTokenInfo(slot);
  const mechanisms = lib.C_GetMechanismList(slot).map((type): MechanismDescription => {
    const m = lib.C_GetMechanismInfo(slot, type);
    return {
      name: mechanismName(type),
      type,
      minKeySize: m.minKeySize,
      maxKeySize: m.maxKeySize,
      flags: MECHANISM_FLAGS.filter(([, bit]) => bit !== 0 && (m.flags & bit) !== 0).map(([name]) => name),
    };
  });
  return {
    label: info.label.trim(),
    manufacturer: info.manufacturerID.trim(),
    model: info.model.trim(),
    serialNumber: info.serialNumber.trim(),
    hardware,
    mechanisms,
  };
}
