// Runs when `node-gyp rebuild` fails during install: the package still works on the
// TypeScript (ref) backend, and the CLI says once, at run time, why native is missing.
console.warn('alexnet-ts: the native addon did not build; the slower ref backend will be used.');
