// A CommonJS package loaded on its first use, not when the module that names it is imported:
// the CLI imports every command's module to build its help, and sharp (its native image
// library), protobufjs and cli-progress cost each start of `alexnet` about a fifth of a second
// that most commands never use.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** () => the package, required the first time it is called. */
export function lazyRequire<T>(name: string): () => T {
  let lib: T | undefined;
  return () => (lib ??= require(name) as T);
}
