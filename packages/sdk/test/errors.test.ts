// SigilError.hasDetail: the details a program may branch on are typed by code.
import { describe, expect, it } from 'vitest';
import { SigilError } from '@sigil/sdk';
import { SIGIL_ERROR_CODES, SIGIL_ERROR_DETAILS } from '@sigil/sdk/errors';

describe('SigilError.hasDetail', () => {
  it('is true only for that code with that detail', () => {
    const e = new SigilError('E_KEY_REVOKED', 'x', { detail: 'rotation-needed' });
    expect(SigilError.hasDetail(e, 'E_KEY_REVOKED', 'rotation-needed')).toBe(true);
    expect(SigilError.hasDetail(new SigilError('E_KEY_REVOKED', 'x'), 'E_KEY_REVOKED', 'rotation-needed')).toBe(false);
    expect(SigilError.hasDetail(new SigilError('E_KEY_NOT_FOUND', 'x', { detail: 'rotation-needed' }), 'E_KEY_REVOKED', 'rotation-needed')).toBe(false);
    expect(SigilError.hasDetail(new Error('rotation-needed'), 'E_KEY_REVOKED', 'rotation-needed')).toBe(false);
    expect(SigilError.hasDetail({ code: 'E_KEY_REVOKED', detail: 'rotation-needed' }, 'E_KEY_REVOKED', 'rotation-needed')).toBe(false);
  });

  it('refuses, at compile time, a detail the code does not have', () => {
    const e = new SigilError('E_KEY_NOT_FOUND', 'x', { detail: 'no-device' });
    // @ts-expect-error 'rotation-needed' is a detail of E_KEY_REVOKED, not of E_KEY_NOT_FOUND
    expect(SigilError.hasDetail(e, 'E_KEY_NOT_FOUND', 'rotation-needed')).toBe(false);
    // @ts-expect-error E_FORMAT has no details to branch on
    expect(SigilError.hasDetail(e, 'E_FORMAT', 'no-device')).toBe(false);
  });

  it('lists details only for codes that exist', () => {
    for (const code of Object.keys(SIGIL_ERROR_DETAILS)) expect(SIGIL_ERROR_CODES).toContain(code);
  });
});
