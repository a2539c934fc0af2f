// Byte plumbing of the CLI: input from a file or stdin, output to stdout or to a file that
// appears only on success (written beside it, renamed at the end) and never replaces a file
// without --force, a guard against binary on a terminal, and a progress bar.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { ExistsError } from './exists-error.js';
import { UsageError } from './usage-error.js';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable & { readonly isTTY?: boolean | undefined };
  readonly stderr: Writable & { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Input {
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes in the input if it is a regular file. */
  readonly size: number | undefined;
}

/** `path` undefined or "-" is stdin. */
export async function openInput(path: string | undefined, io: Io): Promise<Input> {
  if (path === undefined || path === '-') {
    return { stream: Readable.toWeb(io.stdin) as unknown as ReadableStream<Uint8Array>, size: undefined };
  }
  const info = await stat(path);
  return {
    stream: Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>,
    size: info.isFile() ? info.size : undefined,
  };
}

/** Whether `path` names stdout. */
export function isStdout(path: string | undefined): path is undefined | '-' {
  return path === undefined || path === '-';
}

/**
 * Refuses, before any work, an output file that exists when `force` is false. (writeOutput
 * checks again when it puts the file in place, so a file that appears meanwhile is kept too.)
 */
export async function checkOutputFree(path: string | undefined, force: boolean): Promise<void> {
  if (isStdout(path) || force) return;
  const existing = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (existing !== undefined) throw new ExistsError(`${path} exists; add --force to replace it`);
}

/**
 * Copies `source` to stdout, or to `path` through a temporary file beside it that takes the
 * name `path` only when `source` ended without error; on error the temporary file is removed,
 * so a failed decryption leaves no output file behind. Without `force` the name is taken by
 * link(2), which fails if `path` exists (EEXIST) where rename(2) would replace it.
 */
export async function writeOutput(source: ReadableStream<Uint8Array>, path: string | undefined, io: Io, options: { force: boolean }): Promise<void> {
  if (isStdout(path)) {
    await drainTo(source, io.stdout);
    return;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const file = createWriteStream(temporary, { flags: 'wx', mode: 0o600 });
  await once(file, 'open');
  try {
    await drainTo(source, file);
    file.end();
    await once(file, 'finish');
    if (options.force) {
      await rename(temporary, path);
    } else {
      await link(temporary, path).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'EEXIST' ? new ExistsError(`${path} exists; add --force to replace it`) : e;
      });
      await unlink(temporary);
    }
  } catch (e) {
    file.destroy();
    await unlink(temporary).catch(() => {});
    throw e;
  }
}

/**
 * A pass-through for output bound to a terminal: it lets text through and fails before
 * writing a chunk that is not UTF-8 or holds control characters other than tab, newline and
 * carriage return (C0, DEL, C1). Binary garbles a terminal, and escape sequences from a
 * stranger's plaintext can drive it (retitle it, rewrite what is shown, on some terminals
 * answer back as if typed); redirect to a file to get those bytes.
 */
export function terminalTextOnly(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const refuse = () => new UsageError('refusing to write binary or control characters to a terminal; use -o <file> or redirect stdout');
  const check = (text: string) => {
    if (/[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f]/u.test(text)) throw refuse();
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw refuse();
      }
      check(text);
      controller.enqueue(chunk);
    },
    // An output that ends inside a UTF-8 sequence is let be: it is written by then, and a
    // cut character is no control character.
  });
}

async function drainTo(source: ReadableStream<Uint8Array>, sink: Writable): Promise<void> {
  const reader = source.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (!sink.write(value)) await once(sink, 'drain');
  }
}

/** Inputs at least this large get a progress bar (when stderr is a terminal). */
export const PROGRESS_THRESHOLD = 16 * 1024 * 1024;

/** One line of progress: `[#####.....]  45%  120.0 MiB` (without a total: bytes only). */
export function progressLine(done: number, total: number | undefined, width = 30): string {
  const mib = `${(done / 1048576).toFixed(1)} MiB`;
  if (total === undefined || total === 0) return `sigil: ${mib}`;
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  return `sigil: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${mib}`;
}

/**
 * A pass-through that draws a progress bar on stderr, at most five times a second, if stderr
 * is a terminal and the input is large (or of unknown size). Otherwise it changes nothing.
 */
export function progress(io: Io, total: number | undefined): TransformStream<Uint8Array, Uint8Array> {
  const show = io.stderr.isTTY === true && (total === undefined || total >= PROGRESS_THRESHOLD);
  let done = 0;
  let last = 0;
  let drawn = false;
  const draw = () => {
    io.stderr.write(`\r${progressLine(done, total)}`);
    drawn = true;
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      done += chunk.length;
      const now = Date.now();
      if (show && now - last >= 200) {
        last = now;
        draw();
      }
      controller.enqueue(chunk);
    },
    flush() {
      if (show && drawn) {
        draw();
        io.stderr.write('\n');
      }
    },
  });
}
