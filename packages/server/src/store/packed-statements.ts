// An account's statements packed into one byte string, the form SqliteStore keeps beside the
// statements table so that a lookup is one row read (store.ts, `getAccountStatements`).
//
// Layout, per statement in log order: leaf index (6 bytes, big-endian: any safe integer up to
// 2^48), length (4 bytes, big-endian), the statement bytes. Hand-written because it is ten bytes
// of framing; a general serialiser would cost more than the read it saves.

export interface PackedStatement {
  readonly leafIndex: number;
  readonly bytes: Uint8Array;
}

const HEADER = 10;
const MAX_LEAF = 2 ** 48 - 1;

/** `packed` with one more statement appended (a new array; `packed` is not modified). */
export function appendPacked(packed: Uint8Array, leafIndex: number, bytes: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex > MAX_LEAF) throw new RangeError(`leaf index out of range: ${leafIndex}`);
  const out = new Uint8Array(packed.length + HEADER + bytes.length);
  out.set(packed);
  const view = new DataView(out.buffer, packed.length, HEADER);
  view.setUint16(0, Math.floor(leafIndex / 2 ** 32));
  view.setUint32(2, leafIndex >>> 0);
  view.setUint32(6, bytes.length);
  out.set(bytes, packed.length + HEADER);
  return out;
}

/**
 * The statements of `packed`, as views into it (no copies).
 * @throws Error if the framing is damaged (a damaged store).
 */
export function unpack(packed: Uint8Array): PackedStatement[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: PackedStatement[] = [];
  let at = 0;
  while (at < packed.length) {
    if (packed.length - at < HEADER) throw new Error('packed statements: truncated header (the store is damaged)');
    const leafIndex = view.getUint16(at) * 2 ** 32 + view.getUint32(at + 2);
    const length = view.getUint32(at + 6);
    at += HEADER;
    if (packed.length - at < length) throw new Error('packed statements: truncated statement (the store is damaged)');
    out.push({ leafIndex, bytes: packed.subarray(at, at + length) });
    at += length;
  }
  return out;
}
