// Structured logs: one JSON object per line. The logger takes named fields only, and the HTTP
// layer logs the method, the matched route pattern, the status and the time: never a header,
// a body, a token or a key (the end-to-end test searches the log for every secret it made).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

/** Writes JSON lines to `write` (stdout by default). */
export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return {
    log(level, message, fields = {}) {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
    },
  };
}

/** Keeps lines in memory: for tests that search what the server logged. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, ...jsonLogger((line) => lines.push(line)) };
}

export const silentLogger: Logger = { log() {} };
