// UsageError: bad usage or bad input. The CLI prints its one-line message and exits with 2
// (SPEC §5); every other error is internal (exit 1).
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function usage(message: string): never {
  throw new UsageError(message);
}
