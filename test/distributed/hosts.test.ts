// Two "hosts" on one machine: two network namespaces joined by a veth pair (their addresses exist
// only inside them, so traffic goes nowhere else), mpirun started in the first with a remote-shell
// stand-in that runs `ip netns exec NS unshare --uts` (each namespace gets its own hostname, as
// hosts have; shared-memory segment names would collide otherwise). Ranks talk over TCP on the
// veth only (btl self,tcp; both TCP layers pinned to its subnet). The namespaces are removed
// afterwards; the job is bounded in time. Skipped, with the reason, where namespaces cannot be
// made (not root, no CAP_SYS_ADMIN, no iproute2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { MPIRUN_FLAGS, mpiSkipReason, runJob } from './mpirun.js';

const tag = (process.pid % 10000).toString();
const NS = [`anx${tag}a`, `anx${tag}b`];
const VETH = [`vax${tag}`, `vbx${tag}`];
const SUBNET = `10.213.${process.pid % 250}`;
const ADDR = [`${SUBNET}.1`, `${SUBNET}.2`];

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};

/** Makes the two namespaces and the link; returns why it could not, or null. */
function makeHosts(): string | null {
  try {
    for (const ns of NS) ip('netns', 'add', ns);
    ip('link', 'add', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
    for (let i = 0; i < 2; i++) {
      ip('link', 'set', VETH[i], 'netns', NS[i]);
      ip('-n', NS[i], 'addr', 'add', `${ADDR[i]}/24`, 'dev', VETH[i]);
      ip('-n', NS[i], 'link', 'set', VETH[i], 'up');
      ip('-n', NS[i], 'link', 'set', 'lo', 'up');
    }
    execFileSync('ip', ['netns', 'exec', NS[0], 'unshare', '--uts', 'true'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `network namespaces cannot be made here (${(err.stderr?.toString() || err.message).trim().split('\n')[0]})`;
  }
}

function removeHosts(): void {
  for (const ns of NS) {
    try {
      ip('netns', 'del', ns); // takes its end of the veth pair with it
    } catch {
      // never made
    }
  }
}

const skip = mpiSkipReason();
test(
  '2 ranks on 2 "hosts" (network namespaces) train together over TCP',
  { skip: skip ?? false },
  async (t) => {
    const why = makeHosts();
    try {
      if (why) return t.skip(why);
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-hosts-'));
      try {
        // The stand-in for ssh: HOST COMMAND… runs COMMAND (one shell line, as ssh does) in HOST's
        // namespace under HOST's own hostname.
        const rsh = join(dir, 'rsh');
        writeFileSync(
          rsh,
          `#!/bin/sh\nhost=$1; shift\ncase $host in\n  ${ADDR[0]}) ns=${NS[0]};;\n  ${ADDR[1]}) ns=${NS[1]};;\n  *) echo "rsh: unknown host $host" >&2; exit 255;;\nesac\nexec ip netns exec $ns unshare --uts sh -c "hostname $ns; $*"\n`,
        );
        chmodSync(rsh, 0o755);
        const job = JSON.stringify({ cases: [{ train: 64, epochs: 1, batch: 8 }] });
        const mpirun = [
          'mpirun',
          ...MPIRUN_FLAGS,
          ...['--host', `${ADDR[0]},${ADDR[1]}`, '-np', '2'],
          ...['--mca', 'plm_rsh_agent', rsh],
          ...['--mca', 'btl', 'self,tcp'],
          ...['--mca', 'btl_tcp_if_include', `${SUBNET}.0/24`],
          ...['--mca', 'oob_tcp_if_include', `${SUBNET}.0/24`],
          process.execPath,
          join(ROOT, 'dist', 'test', 'distributed', 'rank-train.js'),
          join(dir, 'out'),
          `'${job}'`,
        ];
        const r = await runJob(
          'ip',
          [
            'netns',
            'exec',
            NS[0],
            'unshare',
            '--uts',
            'sh',
            '-c',
            `hostname ${NS[0]}; exec ${mpirun.join(' ')}`,
          ],
          60,
        );
        assert.equal(r.status, 0, r.stderr);
        const ranks = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { rank: number; processor: string })
          .sort((a, b) => a.rank - b.rank);
        assert.deepEqual(
          ranks.map((x) => x.processor),
          NS,
          'each rank ran on its own "host"',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      removeHosts();
    }
  },
);
