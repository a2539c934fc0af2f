// JSON string literals in ASCII, kept in V8's one-byte form: every character past U+007F written
// as a \uXXXX escape (RFC 8259 §7), so the text parses to the same string. Why lookups need it:
// docs/DIRECTORY.md, "The lookup path" (the latin1 round trip below returns the one-byte form).
const NON_ASCII = /[\u0080-\uffff]/g;
const ASCII = /^[\u0000-\u007f]*$/;

function escape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `JSON.stringify(s)` in ASCII: every non-ASCII UTF-16 code unit escaped (surrogates one by one). */
export function asciiJsonString(s: string): string {
  if (ASCII.test(s)) return JSON.stringify(s);
  return Buffer.from(JSON.stringify(s).replace(NON_ASCII, escape), 'latin1').toString('latin1');
}
