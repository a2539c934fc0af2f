// Collects the head of an envelope from a stream: the header, its signature (signing 0x02) and
// the payload's salt || commitment (docs/FORMAT.md §3). The header states its length in its
// first 12 bytes (§3.1), so the head is one buffer of known size from then on and every input
// byte is copied into it once: linear in the header's length however the input is cut. (v1
// re-read the whole queue on every write until the header was complete: a 80 KB header fed one
// byte per write took 95 s.)
import { CHUNK_HEADER_LENGTH } from '../internal/chunked-aead.js';
import { PREAMBLE_FIXED_LENGTH, SIGNATURE_LENGTH, SIGNING_MESSAGE_KEY } from './format.js';
import { readFixedPreamble, type FixedPreamble } from './header.js';

export class HeadReader {
  readonly #fixed = new Uint8Array(PREAMBLE_FIXED_LENGTH);
  #fixedFill = 0;
  #preamble: FixedPreamble | undefined;
  #head: Uint8Array | undefined;
  #fill = 0;
  /** Bytes copied so far: the work done, which a test holds to the head's length. */
  copied = 0;

  /**
   * Takes the next input piece. Returns `undefined` while the head is incomplete, then the rest
   * of this piece (a view, possibly empty), after which `preamble` and `head` are set.
   * @throws the codes of readFixedPreamble, as soon as the bytes that break a rule are in.
   */
  push(input: Uint8Array): Uint8Array | undefined {
    let o = 0;
    if (this.#head === undefined) {
      o = Math.min(PREAMBLE_FIXED_LENGTH - this.#fixedFill, input.length);
      this.#fixed.set(input.subarray(0, o), this.#fixedFill);
      this.#fixedFill += o;
      this.copied += o;
      // At most 111 bytes: constant work per write.
      const preamble = readFixedPreamble(this.#fixed.subarray(0, this.#fixedFill));
      if (preamble === undefined) return undefined;
      this.#preamble = preamble;
      this.#head = new Uint8Array(headLength(preamble));
      this.#head.set(this.#fixed, 0);
      this.#fill = PREAMBLE_FIXED_LENGTH;
    }
    const n = Math.min(this.#head.length - this.#fill, input.length - o);
    this.#head.set(input.subarray(o, o + n), this.#fill);
    this.#fill += n;
    this.copied += n;
    return this.#fill === this.#head.length ? input.subarray(o + n) : undefined;
  }

  /** The fixed preamble, once read. */
  get preamble(): FixedPreamble | undefined {
    return this.#preamble;
  }

  /** The complete head (owned bytes), once `push` returned the rest. */
  get head(): Uint8Array | undefined {
    return this.#head !== undefined && this.#fill === this.#head.length ? this.#head : undefined;
  }
}

/** header || signature || salt || commitment with a message key (0x02); the header alone otherwise (its signature ends the payload). */
export function headLength(p: FixedPreamble): number {
  return p.signing === SIGNING_MESSAGE_KEY ? p.headerLength + SIGNATURE_LENGTH + CHUNK_HEADER_LENGTH : p.headerLength;
}
