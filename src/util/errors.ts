// UsageError: bad usage or bad input. The CLI prints its one-line message and exits with 2
// (SPEC §5); every other error is internal (exit 1). Control characters (a newline in a tensor
// name read from a hostile file, say) are escaped, so the message stays one line.
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(message: string) {
    super(oneLine(message));
  }
}

export function usage(message: string): never {
  throw new UsageError(message);
}

/** `s` with every control character written as \xNN, and at most 400 characters long. */
export function oneLine(s: string): string {
  const escaped = s.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > 400 ? `${escaped.slice(0, 399)}…` : escaped;
}
