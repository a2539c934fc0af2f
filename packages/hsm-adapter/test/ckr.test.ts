// The one CKR_* table: codes Sigil promises for each class of token failure, including those
// SoftHSM cannot be made to produce (it never locks a PIN).
import { describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import { SigilError } from '@sigil/sdk/errors';
import { ckrName, ckrOf, meaningOf, toSigilError } from '../src/internal/ckr.js';

const pkcs11Error = (code: number) => Object.assign(new Error(`${ckrName(code)}:${code}`), { name: 'Pkcs11Error', code });

describe('CKR table', () => {
  it.each([
    ['CKR_PIN_INCORRECT', 'E_HSM_PIN'],
    ['CKR_PIN_LEN_RANGE', 'E_HSM_PIN'],
    ['CKR_PIN_LOCKED', 'E_HSM_PIN_LOCKED'],
    ['CKR_PIN_EXPIRED', 'E_HSM_LOGIN'],
    ['CKR_USER_PIN_NOT_INITIALIZED', 'E_HSM_LOGIN'],
    ['CKR_TOKEN_NOT_PRESENT', 'E_HSM_UNAVAILABLE'],
    ['CKR_DEVICE_REMOVED', 'E_HSM_UNAVAILABLE'],
    ['CKR_SESSION_HANDLE_INVALID', 'E_HSM_UNAVAILABLE'],
    ['CKR_CRYPTOKI_NOT_INITIALIZED', 'E_HSM_UNAVAILABLE'],
    ['CKR_MECHANISM_INVALID', 'E_HSM_MECHANISM'],
    ['CKR_KEY_HANDLE_INVALID', 'E_KEY_NOT_FOUND'],
    ['CKR_OBJECT_HANDLE_INVALID', 'E_KEY_NOT_FOUND'],
    ['CKR_KEY_FUNCTION_NOT_PERMITTED', 'E_KEY_USAGE'],
    ['CKR_ATTRIBUTE_SENSITIVE', 'E_KEY_POLICY'],
    ['CKR_KEY_UNEXTRACTABLE', 'E_KEY_POLICY'],
    ['CKR_SIGNATURE_INVALID', 'E_BAD_SIGNATURE'],
    ['CKR_GENERAL_ERROR', 'E_HSM'],
    ['CKR_DEVICE_MEMORY', 'E_HSM'],
  ] as const)('%s → %s, with the CKR name in detail and the cause kept', (name, code) => {
    const ckr = (pkcs11js as unknown as Record<string, number>)[name]!;
    const cause = pkcs11Error(ckr);
    const e = toSigilError(cause, 'testing');
    expect(SigilError.is(e, code)).toBe(true);
    expect((e as SigilError).detail).toBe(name);
    expect((e as SigilError).cause).toBe(cause);
  });

  it('marks lost sessions for reconnection and stale handles for a fresh look-up', () => {
    expect(meaningOf(pkcs11js.CKR_SESSION_HANDLE_INVALID).reconnect).toBe(true);
    expect(meaningOf(pkcs11js.CKR_DEVICE_REMOVED).reconnect).toBe(true);
    expect(meaningOf(pkcs11js.CKR_KEY_HANDLE_INVALID).staleHandle).toBe(true);
    expect(meaningOf(pkcs11js.CKR_PIN_INCORRECT).reconnect).toBeUndefined();
  });

  it('reads the code of the raw errors that pkcs11js does not wrap (C_SetAttributeValue, C_CreateObject)', () => {
    const raw = new Error(`CKR_ATTRIBUTE_READ_ONLY:${pkcs11js.CKR_ATTRIBUTE_READ_ONLY}`);
    expect(ckrOf(raw)).toBe(pkcs11js.CKR_ATTRIBUTE_READ_ONLY);
    expect(ckrOf(new Error('something else'))).toBeUndefined();
    expect(ckrOf('CKR_PIN_INCORRECT:160')).toBeUndefined();
  });

  it('passes SigilErrors and caller-misuse errors through, and wraps anything else as E_HSM', () => {
    const s = new SigilError('E_KEY_POLICY', 'x');
    expect(toSigilError(s, 'x')).toBe(s);
    const t = new TypeError('x');
    expect(toSigilError(t, 'x')).toBe(t);
    expect(SigilError.is(toSigilError(new Error('native'), 'x'), 'E_HSM')).toBe(true);
    expect(ckrName(0x7fffffff)).toBe('CKR_0x7fffffff');
  });
});
