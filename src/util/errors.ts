// UsageError: bad usage or bad input. The CLI prints its one-line message and exits with 2
// (SPEC §5); every other error is internal (exit 1). Control characters (a newline in a tensor
// name read from a hostile file, say) are escaped, so the message stays one line.
//
// The library's messages name their subject (the file, the field, the variant), never a
// command-line flag; `option` says which option of the call was wrong (e.g. 'arch', 'data'), so
// that the CLI can name its flag (--arch, --data) in front of the message.
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** The option whose value is at fault, as the library calls it ('arch', 'inputSize'). */
    readonly option?: string,
  ) {
    super(oneLine(message));
  }
}

/** A run that failed for a reason its message states in one line (a worker thread died, say):
 *  the CLI prints it and exits with 1, without a stack. */
export class RunFailed extends Error {
  override readonly name: string = 'RunFailed';

  constructor(message: string) {
    super(oneLine(message));
  }
}

export function usage(message: string, option?: string): never {
  throw new UsageError(message, option);
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
