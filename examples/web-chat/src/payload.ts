// What one chat message carries inside its envelope: a short JSON header, a newline, then the
// body bytes (a file's content). The envelope authenticates all of it; this is only framing.
//
//   {"v":1,"text":"see attached","file":{"name":"notes.txt","size":12}}\n<12 bytes>

/** Largest file this app sends (the directory's mailbox takes envelopes up to 1 MiB). */
export const MAX_FILE_BYTES = 768 * 1024;
const MAX_TEXT_CHARS = 16_000;

export interface ChatPayload {
  readonly text: string;
  readonly file: { readonly name: string; readonly bytes: Uint8Array } | undefined;
}

export function encodePayload(p: ChatPayload): Uint8Array {
  if (p.text.length > MAX_TEXT_CHARS) throw new RangeError(`"text" expected at most ${MAX_TEXT_CHARS} characters, got ${p.text.length}`);
  if (p.file !== undefined && p.file.bytes.length > MAX_FILE_BYTES) {
    throw new RangeError(`"file" expected at most ${MAX_FILE_BYTES} bytes, got ${p.file.bytes.length}`);
  }
  const header = { v: 1, text: p.text, ...(p.file === undefined ? {} : { file: { name: p.file.name, size: p.file.bytes.length } }) };
  const head = new TextEncoder().encode(JSON.stringify(header));
  const body = p.file?.bytes ?? new Uint8Array(0);
  const out = new Uint8Array(head.length + 1 + body.length);
  out.set(head, 0);
  out[head.length] = 0x0a;
  out.set(body, head.length + 1);
  return out;
}

/**
 * Reads a payload. Plaintext from another client that is not this framing is shown as text
 * (it was authenticated by the envelope all the same).
 */
export function decodePayload(bytes: Uint8Array): ChatPayload {
  const nl = bytes.indexOf(0x0a);
  const asText = (): ChatPayload => ({ text: new TextDecoder().decode(bytes), file: undefined });
  if (nl < 0) return asText();
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, nl)));
  } catch {
    return asText();
  }
  const h = header as { v?: unknown; text?: unknown; file?: { name?: unknown; size?: unknown } };
  if (typeof h !== 'object' || h === null || h.v !== 1 || typeof h.text !== 'string') return asText();
  const body = bytes.subarray(nl + 1);
  if (h.file === undefined) return { text: h.text, file: undefined };
  if (typeof h.file.name !== 'string' || h.file.size !== body.length) return asText();
  return { text: h.text, file: { name: h.file.name.slice(0, 200), bytes: body.slice() } };
}
