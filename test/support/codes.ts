// Small helpers shared by the directory tests.
import { SigilError } from '@sigil/sdk';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The SigilError code a promise rejects with, or undefined if it resolves; anything else is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (SigilError.is(e)) return e.code;
    throw e;
  }
  return undefined;
}
