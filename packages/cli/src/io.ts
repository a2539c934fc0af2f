// Byte plumbing of the CLI: input from a file or stdin, output to stdout or to a file that
// appears only on success (written beside it, renamed at the end), and a progress bar.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Writable } from 'node:stream';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable;
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

/**
 * Copies `source` to stdout, or to `path` through a temporary file beside it that is renamed
 * over `path` only when `source` ended without error; on error the temporary file is removed,
 * so a failed decryption leaves no output file behind.
 */
export async function writeOutput(source: ReadableStream<Uint8Array>, path: string | undefined, io: Io): Promise<void> {
  if (path === undefined || path === '-') {
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
    await rename(temporary, path);
  } catch (e) {
    file.destroy();
    await unlink(temporary).catch(() => {});
    throw e;
  }
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
