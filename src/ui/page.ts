// The dashboard page: one HTML document with its script. It opens /events (server-sent events),
// draws the `snapshot` it gets first (so a reload shows everything so far), then applies each
// live event: the numbers, the per-step loss and accuracy charts (canvas), the epoch table and the
// server-drawn SVGs (conv1's kernels, the confusion matrix, sample predictions).
import { escapeXml } from '../show/figure.js';

const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
let state = null;
const fmt = (x, d = 4) => (x === null || x === undefined || !isFinite(x) ? '–' : Number(x).toFixed(d));
const time = (s) => (!isFinite(s) ? '–' : s >= 60 ? Math.floor(s / 60) + 'm' + String(Math.round(s % 60)).padStart(2, '0') + 's' : Math.round(s) + 's');
function chart(canvas, points, key, color, yMax) {
  const c = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  c.clearRect(0, 0, w, h);
  c.strokeStyle = '#ccc'; c.strokeRect(30.5, 5.5, w - 36, h - 25);
  if (!points.length) return;
  const xMax = points[points.length - 1].step || 1;
  const top = yMax ?? Math.max(...points.map((p) => p[key]).filter(isFinite), 1e-6);
  c.fillStyle = '#555'; c.font = '11px sans-serif';
  c.fillText(top.toFixed(2), 0, 14); c.fillText('0', 18, h - 20); c.fillText('step ' + xMax, w - 60, h - 5);
  c.strokeStyle = color; c.lineWidth = 1.5; c.beginPath();
  points.forEach((p, i) => {
    const x = 31 + ((w - 37) * p.step) / xMax;
    const y = 6 + (h - 27) * (1 - Math.min(p[key], top) / top);
    i ? c.lineTo(x, y) : c.moveTo(x, y);
  });
  c.stroke();
}
function renderLive() {
  const l = state.live;
  $('status').textContent = state.status;
  if (!l) return;
  $('epoch').textContent = l.epoch + ' / ' + l.epochs;
  $('batch').textContent = l.batch + ' / ' + l.batches;
  $('step').textContent = l.step;
  $('loss').textContent = fmt(l.loss);
  $('accuracy').textContent = fmt(l.accuracy);
  $('lr').textContent = Number(l.lr).toExponential(2);
  $('ips').textContent = fmt(l.imagesPerSecond, 0);
  $('eta').textContent = state.status === 'finished' ? 'done' : time(l.etaTotal) + ' (epoch ' + time(l.eta) + ')';
}
function renderCharts() {
  chart($('lossChart'), state.steps, 'loss', '#1f77b4');
  chart($('accChart'), state.steps, 'accuracy', '#d62728', 1);
}
function renderEpochs() {
  $('epochs').innerHTML = '<tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val top-1</th><th>val top-5</th><th>img/s</th></tr>' +
    state.epochs.map((r) => '<tr><td>' + r.epoch + (r.partial ? ' (partial)' : '') + '</td><td>' + fmt(r.train.loss) + '</td><td>' + fmt(r.train.top1) + '</td><td>' + fmt(r.val.loss) + '</td><td class="top1">' + fmt(r.val.top1) + '</td><td>' + fmt(r.val.top5) + '</td><td>' + fmt(r.imagesPerSecond, 0) + '</td></tr>').join('');
}
function renderFigures() {
  for (const k of ['filters', 'confusion', 'samples']) if (state[k]) $(k).innerHTML = state[k];
}
function renderAll() { renderLive(); renderCharts(); renderEpochs(); renderFigures(); }
const events = new EventSource('events');
events.addEventListener('snapshot', (e) => { state = JSON.parse(e.data); renderAll(); $('connected').textContent = 'live'; });
events.addEventListener('step', (e) => { const d = JSON.parse(e.data); state.live = d.live; state.steps.push(d.point); renderLive(); renderCharts(); });
events.addEventListener('epoch', (e) => { state.epochs.push(JSON.parse(e.data)); renderEpochs(); });
events.addEventListener('figures', (e) => { Object.assign(state, JSON.parse(e.data)); renderFigures(); });
events.addEventListener('status', (e) => { state.status = JSON.parse(e.data).status; renderLive(); });
events.onerror = () => { $('connected').textContent = state && state.status === 'finished' ? 'finished' : 'reconnecting…'; };
`;

export function dashboardPage(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px; }
.numbers { display: grid; grid-template-columns: repeat(9, auto); gap: 4px 18px; margin: 8px 0 12px; }
.numbers div span { display: block; font-size: 11px; color: #666; }
.numbers div b { font-size: 17px; font-variant-numeric: tabular-nums; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
section h2 { font-size: 13px; margin: 0 0 6px; color: #444; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
svg { max-width: 100%; height: auto; }
</style></head>
<body>
<h1>${escapeXml(title)} — <span id="status">connecting</span> <small id="connected"></small></h1>
<div class="numbers">
  <div><span>epoch</span><b id="epoch">–</b></div><div><span>batch</span><b id="batch">–</b></div>
  <div><span>step</span><b id="step">–</b></div><div><span>loss (epoch)</span><b id="loss">–</b></div>
  <div><span>accuracy (epoch)</span><b id="accuracy">–</b></div><div><span>learning rate</span><b id="lr">–</b></div>
  <div><span>images/s</span><b id="ips">–</b></div><div><span>ETA</span><b id="eta">–</b></div>
</div>
<div class="row">
  <section><h2>loss per step</h2><canvas id="lossChart" width="460" height="200"></canvas></section>
  <section><h2>accuracy per step</h2><canvas id="accChart" width="460" height="200"></canvas></section>
</div>
<div class="row" style="margin-top:16px">
  <section><h2>epochs</h2><table id="epochs"></table></section>
  <section><h2>conv1 kernels</h2><div id="filters">–</div></section>
</div>
<div class="row" style="margin-top:16px">
  <section><h2>confusion (last validation)</h2><div id="confusion">–</div></section>
  <section><h2>sample predictions (last validation)</h2><div id="samples">–</div></section>
</div>
<script>${SCRIPT}</script>
</body></html>
`;
}
