// The directory session of one device: fetched when first needed, reused until a minute before
// it expires, fetched again once if the directory no longer knows it. Shared by every verb of the
// device that talks to the directory as the account (wrapped keys, mailbox, backups).
import { SigilError } from '../errors.js';
import type { DirectorySession } from '../directory/client.js';

/** A session is renewed this long before its expiry, so a request never races the deadline. */
const SESSION_MARGIN_MS = 60_000;

export class SessionKeeper {
  readonly #source: () => Promise<DirectorySession>;
  #session: DirectorySession | undefined;

  /** @param source - Gets a new session (signs the directory's challenge, or a WebAuthn sign-in). */
  constructor(source: () => Promise<DirectorySession>) {
    this.#source = source;
  }

  async #current(): Promise<DirectorySession> {
    const s = this.#session;
    if (s !== undefined && s.expiresAt - SESSION_MARGIN_MS > Date.now()) return s;
    this.#session = await this.#source();
    return this.#session;
  }

  /** Runs `fn` with a session; once more with a new session if the directory no longer knows it. */
  async withSession<T>(fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    const session = await this.#current();
    try {
      return await fn(session);
    } catch (e) {
      if (!SigilError.is(e, 'E_UNAUTHORIZED') || this.#session !== session) throw e;
      this.#session = undefined; // expired early, or the directory restarted: sign in again, once
      return fn(await this.#current());
    }
  }
}
