// `alexnet serve-demo`: the browser demo (src/demo/) on http://127.0.0.1:PORT/.
import type { Command } from 'commander';
import { serveDemo } from '../demo/server.js';
import { usage } from '../util/errors.js';
import { nonNegativeInt, positiveInt } from './options.js';

export function registerServeDemo(program: Command): void {
  program
    .command('serve-demo')
    .description('serve the browser demo: the d2l net trained on Fashion-MNIST in WebGPU')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', nonNegativeInt, 8080)
    .option('--images <n>', 'training images sent to the page', positiveInt, 4096)
    .action(async (o: { port: number; images: number }) => {
      let server;
      try {
        server = await serveDemo(o);
      } catch (e) {
        return usage(`serve-demo: ${(e as Error).message}`);
      }
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : o.port;
      process.stdout.write(`demo on http://127.0.0.1:${port}/ (Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) =>
        process.once('SIGINT', () => server.close(() => resolve())),
      );
    });
}
