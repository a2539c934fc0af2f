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

/**
 * The current time in ISO 8601, made once per millisecond: every request logs a line, and
 * `toISOString` costs more than the rest of the line's framing.
 */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoNow.ms) {
    isoNow.ms = ms;
    isoNow.text = new Date(ms).toISOString();
  }
  return isoNow.text;
}
isoNow.ms = Number.NaN;
isoNow.text = '';

/**
 * One log line: the JSON of `{ time, level, msg, ...fields }` (what JSON.stringify gives for
 * those flat values), written field by field instead of through an object built for each line.
 * A field named time, level or msg replaces the line's own, as with the object spread; an
 * undefined field is left out and replaces nothing.
 */
function jsonLine(level: LogLevel, message: string, fields: LogFields): string {
  const own: Record<'time' | 'level' | 'msg', unknown> = { time: isoNow(), level, msg: message };
  let rest = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    if (key === 'time' || key === 'level' || key === 'msg') own[key] = value;
    else rest += `${keyJson(key)}${typeof value === 'number' && Number.isFinite(value) ? value : JSON.stringify(value)}`;
  }
  return `{"time":${JSON.stringify(own.time)},"level":${JSON.stringify(own.level)},"msg":${JSON.stringify(own.msg)}${rest}}\n`;
}

/** `,"key":` for each field name seen (field names are the code's own, a handful). */
const keyJsonCache = new Map<string, string>();
function keyJson(key: string): string {
  let text = keyJsonCache.get(key);
  if (text === undefined) {
    text = `,${JSON.stringify(key)}:`;
    if (keyJsonCache.size < 1000) keyJsonCache.set(key, text);
  }
  return text;
}

/** Writes JSON lines to `write` (by default stdout, in batches flushed each event-loop turn and at exit). */
export function jsonLogger(write?: (line: string) => void): Logger {
  const out = write === undefined ? bufferedStdout() : { write, flush: undefined };
  const logger: Logger = {
    log(level, message, fields = {}) {
      out.write(jsonLine(level, message, fields));
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
