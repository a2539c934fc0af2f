// The help texts of `sigil`, one per command (printed by --help, and after a usage error).

/** A command of the CLI; `keys list`, `keys delete` and `hsm doctor` are two words. */
export type Command = 'keygen' | 'keys list' | 'keys delete' | 'encrypt' | 'decrypt' | 'hsm doctor';

const TOKEN = `The PIN comes from SIGIL_PKCS11_PIN; the module path may come from SIGIL_PKCS11_MODULE.`;

export const USAGE: Record<Command | 'main' | 'keys' | 'hsm', string> = {
  main: `Usage: sigil <command> [options]

Commands:
  keygen        make a recipient key and a signing key in a PKCS#11 token
  keys list     list the keys in a token
  keys delete   delete the keys of one label from a token
  encrypt       encrypt to one or more recipient keys
  decrypt       decrypt with a recipient key in a PKCS#11 token
  hsm doctor    check what a PKCS#11 token can do for Sigil

Run "sigil <command> --help" for a command's options, "sigil --version" for the version.
The token PIN is read from the environment variable SIGIL_PKCS11_PIN; the module path may
come from SIGIL_PKCS11_MODULE.
Exit status: 0 success, 1 crypto, key or I/O failure (error code on stderr), 2 usage error.
`,
  keygen: `Usage: sigil keygen --pkcs11-module <module.so> --token <label> --label <key label>

Generates, inside the token, an agreement key (to receive) and a signing key (to send), both
labelled <key label>, and prints their public keys:
  sigil-recipient-v1:...   give this to people who encrypt to you (sigil encrypt --to)
  sigil-signer-v1:...      others check your envelopes against it (sigil decrypt --expect-sender)
A label already on the token is refused (EEXIST): one label, one pair.
${TOKEN}
`,
  keys: `Usage: sigil keys list --pkcs11-module <module.so> --token <label> [--label <key label>]
       sigil keys delete --pkcs11-module <module.so> --token <label> --label <key label>

Run "sigil keys list --help" or "sigil keys delete --help" for details.
`,
  'keys list': `Usage: sigil keys list --pkcs11-module <module.so> --token <label> [--label <key label>]

Prints every key in the token (or those labelled <key label>): a comment line with the
label, usage (agree or sign) and key id, then the public key ("sigil-recipient-v1:..." or
"sigil-signer-v1:..."). The listing is itself a keys file for --to and --expect-sender.
${TOKEN}
`,
  'keys delete': `Usage: sigil keys delete --pkcs11-module <module.so> --token <label> --label <key label>

Destroys, inside the token, every key labelled <key label> (the pair keygen made) and prints
them as "sigil keys list" does. Envelopes made to a deleted recipient key can no longer be
opened by anyone. No key with that label: E_KEY_NOT_FOUND.
${TOKEN}
`,
  encrypt: `Usage: sigil encrypt --to <key or file> [--to ...] [--sign-with <label>
                     --pkcs11-module <module.so> --token <label>] [-o <out> [--force]] [<in>]

Encrypts <in> (default: stdin) to every recipient and writes the envelope to <out> (default:
stdout, which must not be a terminal). --to takes a key "sigil-recipient-v1:..." or a file of
them, one per line.
--sign-with signs the envelope with the token's signing key of that label (PIN from
SIGIL_PKCS11_PIN); without it the envelope is signed by a throwaway key, i.e. anonymously.
With -o, the file appears only if encryption succeeded, and an existing file is replaced only
with --force (otherwise EEXIST).
`,
  decrypt: `Usage: sigil decrypt --pkcs11-module <module.so> --token <label> [--key <label>]
                     [--expect-sender <key or file>] [-o <out> [--force]] [<in>]

Decrypts the envelope <in> (default: stdin) with a recipient key in the token (any, or the
one labelled --key) and writes the plaintext to <out> (default: stdout). Only authenticated
chunks are ever written; with -o, a failed decryption leaves no file behind, and an existing
file is replaced only with --force (otherwise EEXIST). On a terminal, plaintext that is not
text (binary, control characters) is refused: use -o or redirect.
--expect-sender rejects an envelope not signed by that key ("sigil-signer-v1:..."). ${TOKEN}
`,
  hsm: `Usage: sigil hsm doctor --pkcs11-module <module.so> --token <label>

Run "sigil hsm doctor --help" for details.
`,
  'hsm doctor': `Usage: sigil hsm doctor --pkcs11-module <module.so> --token <label>

Lists the mechanisms the token reports, then tries, with temporary keys it deletes
afterwards, each thing Sigil does with a token: ECDSA P-256 sign and verify, ECDH P-256
derive, AES-256-GCM wrap and unwrap. Every answer is checked against WebCrypto. Prints what
Sigil can and cannot do with the token.
Exit status: 0 when everything Sigil needs works, 1 otherwise.
${TOKEN}
`,
};
