// Standard base64 (RFC 4648 §4, with padding), the encoding of signed notes and checkpoints.
// Decoding is canonical: one string per byte sequence, so that a checkpoint has one spelling.

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Strict decoding: alphabet, padding and unused bits all canonical; `undefined` otherwise. */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!STD.test(s)) return undefined;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === s ? out : undefined; // rejects non-zero unused bits
}
