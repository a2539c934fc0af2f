// A bound on the nesting of a JSON body, checked before JSON.parse sees it. V8 parses any depth,
// and a 2 MB body of arrays nested a million deep cost 0.56 s and +101 MiB on an unauthenticated
// route (8 at once: 3.4 s, 474 MiB): the work grows with the nesting, not only the size. No
// request of the API nests deeper than a few levels.

/**
 * Whether `text` opens more than `maxDepth` arrays or objects inside one another. A linear scan
 * that skips string contents (RFC 8259 §7: a string ends at an unescaped quote), so for valid
 * JSON the figure is exactly its nesting depth; for invalid JSON it is some count that
 * JSON.parse will refuse anyway.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: the next character is escaped
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
  return false;
}
