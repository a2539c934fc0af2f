// The `sigil` command line: keygen, encrypt, decrypt. Exit 0 on success, 1 on a crypto, key or
// I/O failure (the SigilError code first on stderr), 2 on a usage error.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SigilError } from '../errors.js';
import type { KeyBackend } from '../backend/key-backend.js';
import { WebCryptoKeyBackend } from '../backend/webcrypto-key-backend.js';
import { decryptStream, encryptStream } from '../envelope/streams.js';
import { openInput, progress, writeOutput, type Io } from './io.js';
import { formatKey, isKeyText, parseKey, parseKeyFile } from './key-text.js';
import { findKeyByLabel, onlyLabel, openToken, type TokenBackend } from './pkcs11.js';
import { UsageError } from './usage-error.js';

const USAGE = {
  main: `Usage: sigil <command> [options]

Commands:
  keygen    make a recipient key and a signing key in a PKCS#11 token
  encrypt   encrypt to one or more recipient keys
  decrypt   decrypt with a recipient key in a PKCS#11 token

Run "sigil <command> --help" for a command's options. The token PIN is read from the
environment variable SIGIL_PKCS11_PIN; the module path may come from SIGIL_PKCS11_MODULE.
Exit status: 0 success, 1 crypto, key or I/O failure (error code on stderr), 2 usage error.
`,
  keygen: `Usage: sigil keygen --pkcs11-module <module.so> --token <label> --label <key label>

Generates, inside the token, an agreement key (to receive) and a signing key (to send), both
labelled <key label>, and prints their public keys:
  sigil-recipient-v1:...   give this to people who encrypt to you (sigil encrypt --to)
  sigil-signer-v1:...      others check your envelopes against it (sigil decrypt --expect-sender)
The PIN comes from SIGIL_PKCS11_PIN.
`,
  encrypt: `Usage: sigil encrypt --to <key or file> [--to ...] [--sign-with <label>
                     --pkcs11-module <module.so> --token <label>] [-o <out>] [<in>]

Encrypts <in> (default: stdin) to every recipient and writes the envelope to <out> (default:
stdout). --to takes a key "sigil-recipient-v1:..." or a file of them, one per line.
--sign-with signs the envelope with the token's signing key of that label (PIN from
SIGIL_PKCS11_PIN); without it the envelope is signed by a throwaway key, i.e. anonymously.
With -o, the file appears only if encryption succeeded.
`,
  decrypt: `Usage: sigil decrypt --pkcs11-module <module.so> --token <label> [--key <label>]
                     [--expect-sender <key or file>] [-o <out>] [<in>]

Decrypts the envelope <in> (default: stdin) with a recipient key in the token (any, or the
one labelled --key) and writes the plaintext to <out> (default: stdout). Only authenticated
chunks are ever written; with -o, a failed decryption leaves no file behind.
--expect-sender rejects an envelope not signed by that key ("sigil-signer-v1:..."). The PIN
comes from SIGIL_PKCS11_PIN.
`,
} as const;

type Command = keyof typeof USAGE;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  to: { type: 'string', multiple: true },
  'sign-with': { type: 'string' },
  'pkcs11-module': { type: 'string' },
  token: { type: 'string' },
  label: { type: 'string' },
  key: { type: 'string' },
  'expect-sender': { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

const ALLOWED: Record<Exclude<Command, 'main'>, readonly (keyof typeof OPTIONS)[]> = {
  keygen: ['help', 'pkcs11-module', 'token', 'label'],
  encrypt: ['help', 'to', 'sign-with', 'pkcs11-module', 'token', 'output'],
  decrypt: ['help', 'pkcs11-module', 'token', 'key', 'expect-sender', 'output'],
};

type Values = {
  help?: boolean | undefined;
  to?: string[] | undefined;
  'sign-with'?: string | undefined;
  'pkcs11-module'?: string | undefined;
  token?: string | undefined;
  label?: string | undefined;
  key?: string | undefined;
  'expect-sender'?: string | undefined;
  output?: string | undefined;
};

/** Runs one command line; resolves to the exit status. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE.main);
    return name === undefined ? 2 : 0;
  }
  if (!(name in ALLOWED)) {
    io.stderr.write(`sigil: unknown command "${name}"\n\n${USAGE.main}`);
    return 2;
  }
  const command = name as Exclude<Command, 'main'>;
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: OPTIONS, allowPositionals: true, strict: true }));
    for (const option of Object.keys(values)) {
      if (!ALLOWED[command].includes(option as keyof typeof OPTIONS)) throw new UsageError(`--${option} is not an option of "sigil ${command}"`);
    }
    if (values.help === true) {
      io.stdout.write(USAGE[command]);
      return 0;
    }
    if (positionals.length > (command === 'keygen' ? 0 : 1)) throw new UsageError(`unexpected argument "${positionals.at(-1)}"`);
  } catch (e) {
    io.stderr.write(`sigil ${command}: ${(e as Error).message}\n\n${USAGE[command]}`);
    return 2;
  }
  try {
    if (command === 'keygen') await keygen(values, io);
    else if (command === 'encrypt') await encryptCommand(values, positionals[0], io);
    else await decryptCommand(values, positionals[0], io);
    return 0;
  } catch (e) {
    return report(e, command, io);
  }
}

function report(e: unknown, command: string, io: Io): number {
  if (e instanceof UsageError) {
    io.stderr.write(`sigil ${command}: ${e.message}\n\n${USAGE[command as Command]}`);
    return 2;
  }
  if (SigilError.is(e)) {
    io.stderr.write(`sigil ${command}: ${e.code}: ${e.message}\n`);
    return 1;
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    io.stderr.write(`sigil ${command}: ${e.message}\n`);
    return 2;
  }
  const code = (e as { code?: unknown }).code;
  io.stderr.write(`sigil ${command}: ${typeof code === 'string' ? `${code}: ` : ''}${(e as Error)?.message ?? String(e)}\n`);
  return 1;
}

async function withToken<T>(values: Values, io: Io, f: (backend: TokenBackend) => Promise<T>): Promise<T> {
  const backend = await openToken({ module: values['pkcs11-module'], token: values.token }, io.env);
  try {
    return await f(backend);
  } finally {
    await backend.close();
  }
}

async function keygen(values: Values, io: Io): Promise<void> {
  const label = values.label;
  if (label === undefined || label === '') throw new UsageError('--label is required');
  await withToken(values, io, async (backend) => {
    const agree = await backend.generateKeyPair({ usage: 'agree', label });
    const sign = await backend.generateKeyPair({ usage: 'sign', label });
    io.stdout.write(`${formatKey('recipient', agree.publicKey)}\n${formatKey('signer', sign.publicKey)}\n`);
  });
}

/** A key on the command line, or a file of keys. */
async function keysFrom(kind: 'recipient' | 'signer', argument: string): Promise<Uint8Array[]> {
  if (isKeyText(kind, argument)) return [parseKey(kind, argument)];
  let text: string;
  try {
    text = await readFile(argument, 'utf8');
  } catch (cause) {
    throw new UsageError(`"${argument}" is neither a ${kind} key nor a readable file`, { cause });
  }
  return parseKeyFile(kind, text, argument);
}

async function encryptCommand(values: Values, inPath: string | undefined, io: Io): Promise<void> {
  if (values.to === undefined || values.to.length === 0) throw new UsageError('at least one --to is required');
  const to: { publicKey: Uint8Array }[] = [];
  for (const argument of values.to) for (const publicKey of await keysFrom('recipient', argument)) to.push({ publicKey });
  const signWith = values['sign-with'];
  const go = async (from: { backend: KeyBackend; ref: Awaited<ReturnType<KeyBackend['generateKeyPair']>> }) => {
    const input = await openInput(inPath, io);
    await writeOutput(input.stream.pipeThrough(progress(io, input.size)).pipeThrough(encryptStream({ to, from })), values.output, io);
  };
  if (signWith === undefined) {
    if (values['pkcs11-module'] !== undefined || values.token !== undefined) throw new UsageError('--pkcs11-module and --token go with --sign-with');
    // The format always carries a signature; without a key of the sender's, a throwaway key
    // signs, which proves nothing about the sender (an anonymous envelope).
    const throwaway = new WebCryptoKeyBackend();
    await go({ backend: throwaway, ref: await throwaway.generateKeyPair({ usage: 'sign', label: 'anonymous' }) });
    return;
  }
  await withToken(values, io, async (backend) => go({ backend, ref: await findKeyByLabel(backend, signWith, 'sign') }));
}

async function decryptCommand(values: Values, inPath: string | undefined, io: Io): Promise<void> {
  let expectedSender: Uint8Array | undefined;
  if (values['expect-sender'] !== undefined) {
    const senders = await keysFrom('signer', values['expect-sender']);
    if (senders.length !== 1) throw new UsageError('--expect-sender takes exactly one signing key');
    expectedSender = senders[0];
  }
  const label = values.key;
  await withToken(values, io, async (backend) => {
    const keys = label === undefined ? backend : onlyLabel(backend, label);
    const input = await openInput(inPath, io);
    const decryptor = decryptStream(expectedSender === undefined ? { keys } : { keys, expectedSender });
    await writeOutput(input.stream.pipeThrough(progress(io, input.size)).pipeThrough(decryptor), values.output, io);
  });
}
