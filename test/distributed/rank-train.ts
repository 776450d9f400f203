// One rank of the library's data-parallel training, started by the tests under mpirun:
//   mpirun -np N node rank-train.js OUT '{"cases": [{ train, epochs, batch }, …], "timeoutSeconds": S}'
// (batch per rank; timeoutSeconds default 30). Each case trains the tiny network
// on the ref backend with Distributed; rank 0 writes OUT/case<k>/. Every rank prints one line
// {"rank", "size", "processor"}. Run alone (not under mpirun) it does nothing, so the test runner
// may load it like any file under test/.
import { refBackend } from '../../src/backend/ref/index.js';
import { initialize } from '../../src/models/init.js';
import { Distributed } from '../../src/train/distributed.js';
import { train } from '../../src/train/trainer.js';
import { tinyConfig, tinyDataset, tinyMeta, tinyNet } from '../train/tiny.js';

export interface RankCase {
  train: number;
  epochs: number;
  batch: number;
}

/** The configuration and data of a case, shared with the single-process run it must equal. */
export function caseSetup(c: RankCase, batch: number) {
  const dataset = tinyDataset({ train: c.train });
  const config = tinyConfig({ epochs: c.epochs, batch });
  const net = tinyNet(refBackend, config.seed);
  initialize(net, config.init, config.seed);
  return { dataset, config, net, meta: tinyMeta(dataset) };
}

export interface RankJob {
  cases: RankCase[];
  timeoutSeconds?: number;
}

async function main(out: string, job: RankJob): Promise<void> {
  const parallel = await Distributed.start({
    timeoutSeconds: job.timeoutSeconds ?? 30,
    checkpointPath: `${out}/case0/checkpoint.safetensors`,
  });
  console.log(
    JSON.stringify({ rank: parallel.rank, size: parallel.size, processor: parallel.processor }),
  );
  for (const [k, c] of job.cases.entries()) {
    const { dataset, config, net, meta } = caseSetup(c, c.batch);
    await train({
      net,
      meta,
      dataset,
      config,
      outDir: `${out}/case${k}`,
      parallel,
      handleSignals: false,
      plots: false,
    });
    await dataset.close();
  }
  await parallel.close();
}

if (process.env.OMPI_COMM_WORLD_SIZE && process.argv.length === 4)
  await main(process.argv[2], JSON.parse(process.argv[3]) as RankJob);
