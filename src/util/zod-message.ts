// One zod issue as the end of a one-line message ("must be at most 1"), for errors that name the
// flag or file the value came from — never zod's own multi-line dump.
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

export function issueText(issue: Issue): string {
  const bound = (kind: 'most' | 'least', value: unknown, inclusive: boolean | undefined): string =>
    inclusive === false
      ? `must be ${kind === 'most' ? 'below' : 'above'} ${String(value)}`
      : `must be at ${kind} ${String(value)}`;
  switch (issue.code) {
    case 'too_big':
      return bound('most', issue.maximum, issue.inclusive);
    case 'too_small':
      return bound('least', issue.minimum, issue.inclusive);
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be an integer' : `must be a ${issue.expected}`;
    default:
      return issue.message;
  }
}

/** The value at an issue's path inside `input`. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[k];
  return v;
}
