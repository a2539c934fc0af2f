// JSON string literals in ASCII, kept in V8's one-byte form: every character past U+007F written
// as a \uXXXX escape (RFC 8259 §7), so the text parses to the same string.
//
// Why: lookup answers are served as bytes, converted from text with one latin1 copy, which is
// only right when every character is ASCII (account-view.ts). And V8 keeps a string holding any
// character past U+00FF in two bytes per character, as is any string concatenated with it and
// even the result of replacing those characters: a lookup answer containing the signed note (its
// signature lines start with an em dash, C2SP signed-note) would be built and flattened two bytes
// per character. The latin1 round trip below returns the one-byte form.
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
