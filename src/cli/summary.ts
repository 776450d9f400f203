// `alexnet summary`: per-layer output shapes, parameters and MACs, and the totals.
import { Command, Option } from 'commander';
import { refBackend } from '../backend/ref/index.js';
import { buildNet } from '../models/alexnet.js';
import { ARCHS, defaultConfig, type Arch } from '../models/config.js';
import { positiveInt, printJson } from './options.js';

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the layers of a variant with output shapes, parameters and MACs')
    .addOption(new Option('--arch <id>', 'network variant').choices(ARCHS).default('alexnet2012'))
    .option('--input-size <n>', "input height and width (default: the variant's)", positiveInt)
    .option('--classes <n>', 'number of classes (default: 1000; d2l: 10)', positiveInt)
    .option('--channels <n>', 'input channels (default: 3; d2l: 1)', positiveInt)
    .option('--json', 'one JSON object')
    .action(
      (o: {
        arch: Arch;
        inputSize?: number;
        classes?: number;
        channels?: number;
        json?: boolean;
      }) => {
        const config = defaultConfig(o.arch, {
          inputSize: o.inputSize,
          classes: o.classes,
          channels: o.channels,
        });
        const net = buildNet(config, refBackend);
        if (o.json) {
          printJson({
            arch: config.arch,
            config,
            input: net.input,
            layers: net.rows.map((r) => ({
              name: r.name,
              kind: r.kind,
              output: r.output,
              params: r.params,
              macs: r.macs,
            })),
            params: net.paramCount,
            macs: net.macCount,
          });
          return;
        }
        const fmt = (n: number): string => n.toLocaleString('en-US');
        const lines: string[][] = [['layer', 'kind', 'output', 'params', 'MACs']];
        lines.push(['input', '', `${net.input.join('×')}`, '', '']);
        for (const r of net.rows)
          lines.push([
            r.name,
            r.kind,
            r.output.join('×'),
            r.params ? fmt(r.params) : '',
            r.macs ? fmt(r.macs) : '',
          ]);
        lines.push(['total', '', '', fmt(net.paramCount), fmt(net.macCount)]);
        const widths = lines[0].map((_, j) => Math.max(...lines.map((l) => l[j].length)));
        const out = lines.map((l) =>
          l
            .map((c, j) => (j >= 3 ? c.padStart(widths[j]) : c.padEnd(widths[j])))
            .join('  ')
            .trimEnd(),
        );
        out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
        const flat = net.rows.find((r) => r.kind === 'flatten');
        out.push('');
        out.push(
          `${config.arch} at ${config.inputSize}×${config.inputSize}×${config.channels}: conv1 gives ${net.rows[0].output.slice(1).join('×')}; ` +
            `fc6 sees ${flat ? fmt(flat.output[0]) : '?'} features; ${((net.macCount * 2) / 1e9).toFixed(2)} GFLOP per image forward.`,
        );
        process.stdout.write(out.join('\n') + '\n');
      },
    );
}
