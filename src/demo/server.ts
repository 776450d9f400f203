// `alexnet serve-demo`: serves the browser demo on 127.0.0.1 — the page, its script (page.ts and
// the webgpu backend bundled by esbuild in memory at start, ~0.1 s) and the first `images`
// training images of the bundled Fashion-MNIST. A page from 127.0.0.1 is a secure context, where navigator.gpu exists.
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { loadFashionRaw } from '../data/fashion.js';
import { encodeDemoData } from './train-steps.js';

const ENTRY = fileURLToPath(new URL('./page.js', import.meta.url)); // dist/src/demo/page.js

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>alexnet-ts: AlexNet (d2l) on Fashion-MNIST in WebGPU</title>
<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:52em}canvas{border:1px solid #ccc}</style>
</head><body>
<h1>AlexNet (d2l) on Fashion-MNIST, trained in your browser</h1>
<p>The webgpu backend of alexnet-ts: the same WGSL kernels as in Node. Reduced size by default
(67×67 inputs, a quarter of the width); <code>?steps=&amp;batch=&amp;width=&amp;size=&amp;lr=&amp;seed=</code>
change it.</p>
<p id="status">starting…</p><p id="progress"></p>
<canvas id="chart" width="640" height="240"></canvas>
<script type="module" src="app.js"></script>
</body></html>`;

/** The demo's script, bundled now by esbuild (a development dependency). */
export async function demoBundle(): Promise<string> {
  try {
    const name = 'esbuild'; // a development dependency; not a literal, so tsc need not find it
    const esbuild = (await import(name)) as typeof import('esbuild');
    const r = await esbuild.build({
      entryPoints: [ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
    return r.outputFiles[0].text;
  } catch (e) {
    throw new Error(
      `bundling the demo needs esbuild, a development dependency (npm install --include=dev): ` +
        `${(e as Error).message.split('\n')[0]}`,
    );
  }
}

export async function serveDemo(o: { port: number; images: number }): Promise<Server> {
  const app = await demoBundle();
  const raw = loadFashionRaw({ log: (l) => process.stderr.write(`${l}\n`) });
  const n = Math.min(o.images, raw.train.labels.length);
  const data = encodeDemoData(raw.train.images, raw.train.labels, n);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (type: string, body: string | Uint8Array) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/') send('text/html; charset=utf-8', PAGE);
    else if (path === '/app.js') send('text/javascript; charset=utf-8', app);
    else if (path === '/data.bin') send('application/octet-stream', data);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', resolve);
  });
  return server;
}
