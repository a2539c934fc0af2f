// Structured logs: one JSON object per line. The logger takes named fields only, and the HTTP
// layer logs the method, the matched route pattern, the status and the time: never a header,
// a body, a token or a key (the end-to-end test searches the log for every secret it made).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** Writes out lines the logger batches (if it does). */
  flush?(): void;
}

/**
 * Lines for stdout, written in batches: one write per turn of the event loop instead of one per
 * request, and whatever is pending when the process exits (stdout to a file or a pipe is
 * synchronous on Linux, so the exit handler's write completes).
 */
function bufferedStdout(): { write: (line: string) => void; flush: () => void } {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stdout.write(text);
  };
  process.once('exit', flush);
  return {
    flush,
    write: (line) => {
      if (pending === '') setImmediate(flush);
      pending += line;
      if (pending.length >= 65_536) flush();
    },
  };
}

/** Writes JSON lines to `write` (by default stdout, in batches flushed each event-loop turn and at exit). */
export function jsonLogger(write?: (line: string) => void): Logger {
  const out = write === undefined ? bufferedStdout() : { write, flush: undefined };
  const logger: Logger = {
    log(level, message, fields = {}) {
      out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
    },
  };
  return out.flush === undefined ? logger : { ...logger, flush: out.flush };
}

/** Keeps lines in memory: for tests that search what the server logged. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, ...jsonLogger((line) => lines.push(line)) };
}

export const silentLogger: Logger = { log() {} };
