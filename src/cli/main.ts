// The `alexnet` command line (SPEC §5). Thin: each command lives in its own file, parses its
// options with commander, calls the library and prints. Bad usage or bad input → one line on
// stderr and exit code 2; anything else → exit code 1.
import { Command, CommanderError } from 'commander';
import { RunFailed, UsageError } from '../util/errors.js';
import { flagName, prepareBackend } from './options.js';
import { registerSummary } from './summary.js';
import { registerInfer } from './infer.js';
import { registerImport } from './import.js';
import { registerExport } from './export.js';
import { registerFeatures } from './features.js';
import { registerNeighbors } from './neighbors.js';
import { registerBench } from './bench.js';
import { registerServeDemo } from './serve-demo.js';
import { registerPca } from './pca.js';
import { registerTrain } from './train.js';
import { registerEval } from './eval.js';
import { registerPredict } from './predict.js';
import { registerShow } from './show.js';
import { registerInfo } from './info.js';
import { packageInfo } from '../util/version.js';
import { registerLab } from './lab.js';
import { registerUi } from './ui.js';

export function buildProgram(): Command {
  const program = new Command('alexnet')
    .description(
      'AlexNet (Krizhevsky, Sutskever & Hinton, 2012): train, evaluate, predict, import and export',
    )
    .version(packageInfo().version, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  registerSummary(program);
  registerInfer(program);
  registerImport(program);
  registerExport(program);
  registerFeatures(program);
  registerNeighbors(program);
  registerBench(program);
  registerServeDemo(program);
  registerPca(program);
  registerTrain(program);
  registerEval(program);
  registerPredict(program);
  registerShow(program);
  registerInfo(program);
  registerLab(program);
  registerUi(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await prepareBackend(argv);
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  }
}

function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // --help and --version end here with exit code 0; commander has already printed its message.
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UsageError) {
    // The library names the subject; the command line names the flag that gave it.
    const flag = e.option ? `${flagName(e.option)}: ` : '';
    process.stderr.write(`alexnet: ${flag}${e.message}\n`);
    return 2;
  }
  if (e instanceof RunFailed) {
    process.stderr.write(`alexnet: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`alexnet: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  return 1;
}
