// Concise one-line logs on stderr. Nothing here ever receives a token: callers log facts, not headers.
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** `error` details (stack) are printed only for unexpected failures. */
  error(message: string, error?: unknown): void;
}

function line(level: string, message: string): string {
  return `${new Date().toISOString()} ${level} ${message}\n`;
}

export const consoleLogger: Logger = {
  info: (message) => process.stderr.write(line('info', message)),
  warn: (message) => process.stderr.write(line('warn', message)),
  error: (message, error) => {
    const detail = error instanceof Error ? `\n${error.stack ?? error.message}` : error === undefined ? '' : ` ${String(error)}`;
    process.stderr.write(line('error', `${message}${detail}`));
  },
};

/** Keeps lines in memory (tests read them back; nothing is printed). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string, error?: unknown) => {
    lines.push(`${level} ${message}${error instanceof Error ? ` ${error.stack ?? error.message}` : ''}`);
  };
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}
