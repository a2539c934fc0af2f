// The `sigil` command line: keygen, keys list|delete, encrypt, decrypt, hsm doctor. Exit 0 on success, 1 on
// a crypto, key or I/O failure (the error code first on stderr), 2 on a usage error.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { decryptStream, encryptStream, WebCryptoKeyBackend } from '@sigil/sdk';
import type { KeyBackend, KeyRef } from '@sigil/sdk/backend';
import { SigilError } from '@sigil/sdk/errors';
import { checkOutputFree, isStdout, openInput, progress, terminalTextOnly, writeOutput, type Io } from './io.js';
import { isKeyText, parseKey, parseKeyFile } from './key-text.js';
import { doctor } from './doctor.js';
import { deleteKeys, generatePair, listKeys } from './keys.js';
import { findKeyByLabel, onlyLabel, openToken, type TokenBackend } from './token.js';
import { USAGE, type Command } from './usage.js';
import { UsageError } from './usage-error.js';

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
  force: { type: 'boolean', short: 'f' },
} as const;

const ALLOWED: Record<Command, readonly (keyof typeof OPTIONS)[]> = {
  keygen: ['help', 'pkcs11-module', 'token', 'label'],
  'keys list': ['help', 'pkcs11-module', 'token', 'label'],
  'keys delete': ['help', 'pkcs11-module', 'token', 'label'],
  encrypt: ['help', 'to', 'sign-with', 'pkcs11-module', 'token', 'output', 'force'],
  decrypt: ['help', 'pkcs11-module', 'token', 'key', 'expect-sender', 'output', 'force'],
  'hsm doctor': ['help', 'pkcs11-module', 'token'],
};

/** Commands of two words: the group, and its verbs. */
const GROUPS = { keys: ['list', 'delete'], hsm: ['doctor'] } as const;

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
  force?: boolean | undefined;
};

/** The version of @sigil/cli (package.json sits one folder above both src/ and dist/). */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help';

/** Runs one command line; resolves to the exit status. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...afterName] = argv;
  if (name === undefined || isHelp(name)) {
    (name === undefined ? io.stderr : io.stdout).write(USAGE.main);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write(`sigil ${cliVersion()}\n`);
    return 0;
  }
  let command: Command;
  let rest: string[];
  if (Object.hasOwn(GROUPS, name)) {
    const group = name as keyof typeof GROUPS;
    const [verb, ...afterVerb] = afterName;
    if (verb === undefined || isHelp(verb)) {
      (verb === undefined ? io.stderr : io.stdout).write(USAGE[group]);
      return verb === undefined ? 2 : 0;
    }
    if (!(GROUPS[group] as readonly string[]).includes(verb)) {
      io.stderr.write(`sigil ${group}: unknown command "${verb}"\n\n${USAGE[group]}`);
      return 2;
    }
    command = `${group} ${verb}` as Command;
    rest = afterVerb;
  } else if (Object.hasOwn(ALLOWED, name) && !name.includes(' ')) {
    command = name as Command;
    rest = afterName;
  } else {
    io.stderr.write(`sigil: unknown command "${name}"\n\n${USAGE.main}`);
    return 2;
  }
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }));
    for (const option of Object.keys(values)) {
      if (!ALLOWED[command].includes(option as keyof typeof OPTIONS)) throw new UsageError(`--${option} is not an option of "sigil ${command}"`);
    }
    if (values.help === true) {
      io.stdout.write(USAGE[command]);
      return 0;
    }
    const takesInput = command === 'encrypt' || command === 'decrypt';
    if (positionals.length > (takesInput ? 1 : 0)) throw new UsageError(`unexpected argument "${positionals.at(-1)}"`);
  } catch (e) {
    io.stderr.write(`sigil ${command}: ${(e as Error).message}\n\n${USAGE[command]}`);
    return 2;
  }
  try {
    if (command === 'keygen') await keygenCommand(values, io);
    else if (command === 'keys list') await withToken(values, io, async (backend) => io.stdout.write(await listKeys(backend, values.label)));
    else if (command === 'keys delete') await keysDeleteCommand(values, io);
    else if (command === 'hsm doctor') return await withToken(values, io, async (backend) => doctor(backend, (await import('@sigil/hsm-adapter')).SIGIL_MECHANISMS, io));
    else if (command === 'encrypt') await encryptCommand(values, positionals[0], io);
    else await decryptCommand(values, positionals[0], io);
    return 0;
  } catch (e) {
    return report(e, command, io);
  }
}

function report(e: unknown, command: Command, io: Io): number {
  if (e instanceof UsageError) {
    io.stderr.write(`sigil ${command}: ${e.message}\n\n${USAGE[command]}`);
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
  // System errors (ENOENT, EACCES...) and ExistsError (EEXIST) carry a string code.
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

function requireLabel(values: Values): string {
  const label = values.label;
  if (label === undefined || label === '') throw new UsageError('--label is required');
  return label;
}

async function keygenCommand(values: Values, io: Io): Promise<void> {
  const label = requireLabel(values);
  await withToken(values, io, async (backend) => io.stdout.write(await generatePair(backend, label)));
}

async function keysDeleteCommand(values: Values, io: Io): Promise<void> {
  const label = requireLabel(values);
  await withToken(values, io, async (backend) => io.stdout.write(await deleteKeys(backend, label)));
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
  // An envelope is binary: on a terminal it is garbage, and it may hold escape sequences.
  if (isStdout(values.output) && io.stdout.isTTY === true) throw new UsageError('refusing to write an envelope (binary) to a terminal; use -o <file> or redirect stdout');
  const to: { publicKey: Uint8Array }[] = [];
  for (const argument of values.to) for (const publicKey of await keysFrom('recipient', argument)) to.push({ publicKey });
  const signWith = values['sign-with'];
  if (signWith === undefined && (values['pkcs11-module'] !== undefined || values.token !== undefined)) {
    throw new UsageError('--pkcs11-module and --token go with --sign-with');
  }
  await checkOutputFree(values.output, values.force === true);
  const go = async (from: { backend: KeyBackend; ref: KeyRef }) => {
    const input = await openInput(inPath, io);
    const envelope = input.stream.pipeThrough(progress(io, input.size)).pipeThrough(encryptStream({ to, from }));
    await writeOutput(envelope, values.output, io, { force: values.force === true });
  };
  if (signWith === undefined) {
    // The format always carries a signature; without a key of the sender's, a throwaway key
    // signs, which proves nothing about the sender (an anonymous envelope).
    const throwaway = new WebCryptoKeyBackend();
    await go({ backend: throwaway, ref: await throwaway.generateKeyPair({ usage: 'sign', label: 'anonymous' }) });
    return;
  }
  await withToken(values, io, async (backend) => go({ backend, ref: await findKeyByLabel(backend, signWith, 'sign') }));
}

/**
 * Codes a decryption gives when the envelope's own bytes are wrong before any key was tried
 * (docs/FORMAT.md: magic, version and suite, chunk size, the header's public keys and
 * lengths). Said as-is they read like a problem with the command line ("The P-256 public key
 * is not a point on the curve"), so the CLI says which input is damaged, keeping the code.
 */
const DAMAGED_INPUT_CODES = ['E_FORMAT', 'E_UNSUPPORTED_VERSION', 'E_LIMIT', 'E_BAD_PUBLIC_KEY'] as const;

async function decryptCommand(values: Values, inPath: string | undefined, io: Io): Promise<void> {
  let expectedSender: Uint8Array | undefined;
  if (values['expect-sender'] !== undefined) {
    const senders = await keysFrom('signer', values['expect-sender']);
    if (senders.length !== 1) throw new UsageError('--expect-sender takes exactly one signing key');
    expectedSender = senders[0];
  }
  await checkOutputFree(values.output, values.force === true);
  const label = values.key;
  const inputName = inPath === undefined || inPath === '-' ? 'stdin' : inPath;
  await withToken(values, io, async (backend) => {
    const keys = label === undefined ? backend : onlyLabel(backend, label);
    const input = await openInput(inPath, io);
    const decryptor = decryptStream(expectedSender === undefined ? { keys } : { keys, expectedSender });
    let plaintext = input.stream.pipeThrough(progress(io, input.size)).pipeThrough(decryptor);
    if (isStdout(values.output) && io.stdout.isTTY === true) plaintext = plaintext.pipeThrough(terminalTextOnly());
    try {
      await writeOutput(plaintext, values.output, io, { force: values.force === true });
    } catch (e) {
      if (!SigilError.is(e, ...DAMAGED_INPUT_CODES)) throw e;
      throw new SigilError(e.code, `${inputName} is damaged, or is not an envelope this sigil reads (${e.message})`, { cause: e, ...(e.detail === undefined ? {} : { detail: e.detail }) });
    }
  });
}
