// @sigil/sdk/envelope: the envelope format's header parser and limits, for a relay that must
// refuse bytes that are not an envelope without holding any key (docs/FORMAT.md). An app
// encrypts and decrypts with the root entry's verbs instead.
export { parseEnvelopeHeader } from './parse-header.js';
export type { EnvelopeHeader } from './parse-header.js';
export { ENVELOPE_LIMITS } from './format.js';
