// The log verifier key this page pins. Every account, key and checkpoint the SDK uses is
// verified against it, so it must not come from the directory's answers: it is in the page
// itself, written into index.html at build time (SIGIL_LOG_KEY=... npm run build) or, in
// development, by the process that serves index.html (serve.mjs). The SDK never asks the
// directory for it.

const PLACEHOLDER = '__SIGIL_LOG_KEY__';

/**
 * The pinned vkey (note verifier key text), or undefined when the page was served without one.
 */
export function pinnedLogKey(): string | undefined {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="sigil-log-key"]');
  const value = meta?.content.trim();
  if (value === undefined || value === '' || value === PLACEHOLDER) return undefined;
  return value;
}

/** The directory lives on this page's origin (one origin: WebAuthn RP ID = this host name). */
export function directoryUrl(): string {
  return location.origin;
}
