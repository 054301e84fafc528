/**
 * `npm run bench -- dask`: lowrank on Dask (integrations/dask) vs dask.array.linalg.svd_compressed
 * (iterator 'QR', the same q and oversampling) on the same .npy shards and the same LocalCluster
 * (Debian's python3-distributed; workers with one thread each, BLAS and lowrank alike), and the same
 * job in one process (lowrank rsvd on the whole matrix) for the overhead of sharding.
 *
 * Default: a 200,000 x 2,000 f32 matrix (rank 50, singular values 100 .. 10, N(0, 0.01^2) noise) in 20
 * shards, k 50, p 10, q in {0, 2}, 2 workers; --quick: 20,000 x 500 in 4 shards, k 20.
 * Reported: wall time, ||A - U S V^T||_F / tau_{k+1} (f64, exact tau from the Gram), the largest
 * relative error of the k singular values, bytes written to part folders (lowrank) and bytes
 * transferred between workers (Dask's counters).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engine, readNpy, rsvd } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
import { repoRoot } from './lib/machine.js';
import { findPython } from './lib/python.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { progress } from './lib/runner.js';
import { startHeader } from './lib/suite.js';

interface Run {
  engine: string;
  q: number | null;
  rep: number;
  seconds: number;
  tasks?: number;
  bytesWritten?: number;
  bytesTransferred?: number;
  froRatio: number;
  maxSvRelErr: number;
  estimate?: number;
}

interface PeerOut {
  versions: Record<string, string>;
  tau: number;
  sv: number[];
  runs: Run[];
  workers: number;
}

const MiB = (b: number | undefined) => (b === undefined ? '' : `${(b / 2 ** 20).toFixed(1)} MiB`);

export async function runDask(args: BenchArgs): Promise<void> {
  const suite = 'dask';
  const quick = args.quick;
  const header = startHeader(suite, args);
  const cfg = quick ? { rows: 20000, cols: 500, shards: 4, k: 20 } : { rows: 200000, cols: 2000, shards: 20, k: 50 };
  const qs = [0, 2];
  const seeds = [0, 1, 2];
  const workers = 2;
  const py = findPython();
  const pyExe = ['/usr/bin/python3', py?.exe].find(
    (p) =>
      p &&
      (() => {
        try {
          execFileSync(p, ['-c', 'import dask.distributed'], { stdio: 'ignore' });
          return true;
        } catch {
          return false;
        }
      })(),
  );
  if (!pyExe) throw new Error('bench dask needs python3 with dask.distributed (Debian: apt-get install python3-distributed)');
  const bin = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(bin)) throw new Error('bench dask runs the compiled CLI: npm run build:ts first');
  const data = path.join(os.tmpdir(), `lowrank-bench-dask-${cfg.rows}x${cfg.cols}-${cfg.shards}`);
  const conf = path.join(os.tmpdir(), `lowrank-bench-dask-${process.pid}.json`);
  fs.writeFileSync(
    conf,
    JSON.stringify({
      data,
      ...cfg,
      qs,
      workers,
      seed: 0,
      seeds,
      lowrank_cli: `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)}`,
      repo: repoRoot,
    }),
  );
  progress(
    suite,
    `${cfg.rows} x ${cfg.cols} f32 in ${cfg.shards} shards (${data}), k ${cfg.k}, q ${qs.join(', ')}, ${workers} workers x 1 thread`,
  );
  let peer: PeerOut;
  try {
    const outText = execFileSync(pyExe, [path.join(repoRoot, 'bench', 'peers', 'dask_bench.py'), conf], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 << 20,
    });
    peer = JSON.parse(outText.trim().split('\n').pop() as string) as PeerOut;
  } finally {
    fs.rmSync(conf, { force: true });
  }

  // The same job in one process: lowrank rsvd on the whole matrix (native f32, 1 and all threads).
  const paths = Array.from({ length: cfg.shards }, (_, i) => path.join(data, `${i}.npy`));
  const A = new Float32Array(cfg.rows * cfg.cols);
  let off = 0;
  for (const p of paths) {
    const a = (await readNpy(p)).data;
    A.set(a, off);
    off += a.length;
  }
  const single: { threads: number; q: number; seconds: number; froRatio: number; maxSvRelErr: number }[] = [];
  for (const threads of [1, os.availableParallelism()]) {
    const eng = await engine({ backend: 'native', dtype: 'f32', threads });
    try {
      const M = eng.matrix(A, cfg.rows, cfg.cols);
      for (const q of qs) {
        const t0 = performance.now();
        const { U, S, V } = await rsvd(M, { rank: cfg.k, powerIters: q, oversample: 10, seed: 0 });
        const seconds = (performance.now() - t0) / 1000;
        // ||A - U S V^T||_F^2 = ||A||_F^2 - sum S^2 (U S V^T = U U^T A), in f64 from the exact tau's data
        const nrm = await eng.norm(M, 'fro');
        const fro2 = nrm * nrm;
        let cap = 0;
        for (const s of S) cap += s * s;
        const err = Math.sqrt(Math.max(0, fro2 - cap));
        let worst = 0;
        for (let i = 0; i < cfg.k; i++) worst = Math.max(worst, Math.abs(S[i] - peer.sv[i]) / peer.sv[i]);
        single.push({ threads, q, seconds, froRatio: err / peer.tau, maxSvRelErr: worst });
        U.dispose();
        V.dispose();
        progress(suite, `one process, ${threads} thread(s), q ${q}: ${seconds.toFixed(2)} s`);
      }
      M.dispose();
    } finally {
      await eng.dispose();
    }
  }

  const h = [
    'configuration',
    'q',
    'seconds',
    'vs svd_compressed',
    '||A - U S V^T||_F / tau',
    'max rel. sv error',
    'tasks',
    'part files written',
    'transferred between workers',
  ];
  const rows: string[][] = [];
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const q of qs) {
    const dk = peer.runs.filter((r) => r.engine === 'dask-svd_compressed' && r.q === q);
    const dkSec = dk.length ? med(dk.map((r) => r.seconds)) : undefined;
    for (const eng of ['lowrank-dask', 'dask-svd_compressed']) {
      const rs = peer.runs.filter((x) => x.q === q && x.engine === eng);
      if (!rs.length) continue;
      const secs = med(rs.map((r) => r.seconds));
      rows.push([
        eng === 'lowrank-dask' ? 'lowrank on Dask (multi-pass)' : "dask.array svd_compressed(iterator='QR')",
        String(q),
        secs.toFixed(2),
        dkSec ? `${(dkSec / secs).toFixed(2)}x` : '',
        med(rs.map((r) => r.froRatio)).toFixed(6),
        med(rs.map((r) => r.maxSvRelErr)).toExponential(2),
        rs[0].tasks === undefined ? '' : String(rs[0].tasks),
        MiB(rs[0].bytesWritten),
        MiB(med(rs.map((r) => r.bytesTransferred ?? 0))),
      ]);
    }
    for (const s1 of single.filter((x) => x.q === q))
      rows.push([
        `lowrank rsvd, one process, ${s1.threads} thread(s)`,
        String(q),
        s1.seconds.toFixed(2),
        dkSec ? `${(dkSec / s1.seconds).toFixed(2)}x` : '',
        s1.froRatio.toFixed(6),
        s1.maxSvRelErr.toExponential(2),
        '',
        '',
        '',
      ]);
  }
  const sp = peer.runs.find((r) => r.engine === 'lowrank-dask-single-pass');
  if (sp)
    rows.push([
      'lowrank on Dask, single pass (sketch)',
      '-',
      sp.seconds.toFixed(2),
      '',
      `${sp.froRatio.toFixed(4)} (estimate ${sp.estimate?.toFixed(4)})`,
      sp.maxSvRelErr.toExponential(2),
      String(sp.tasks),
      MiB(sp.bytesWritten),
      MiB(sp.bytesTransferred),
    ]);
  const pairs = headerPairs(header).filter(([key]) => key !== 'FMA peak');
  const what = [
    `A: ${cfg.rows} x ${cfg.cols} f32 (${((cfg.rows * cfg.cols * 4) / 2 ** 20).toFixed(0)} MiB) in ${cfg.shards} .npy shards of ${cfg.rows / cfg.shards} rows: rank 50 with singular values log-spaced 100 .. 10 plus N(0, 0.01^2) noise. k ${cfg.k}, oversampling 10, seed 0; tau_{k+1} = ${peer.tau.toFixed(3)} from the f64 Gram.`,
    `Cluster: LocalCluster(n_workers=${workers}, threads_per_worker=1, processes=True) with OMP/OPENBLAS/LOWRANK threads 1 per worker; ${Object.entries(
      peer.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}. Both read the same files (svd_compressed through da.from_npy_stack, memory-mapped per task). The lowrank steps run in one \`lowrank serve\` process per worker thread.`,
    `Dask rows: medians over seeds ${seeds.join(', ')} of the test matrix (both draw Gaussians, from different generators; the accuracy varies from seed to seed by more than the two algorithms differ); one-process rows: seed 0. Seconds: wall time of the whole call, the first lowrank run including the start of the serve processes. "vs svd_compressed" > 1: faster than svd_compressed at the same q.`,
  ];
  const text = [
    `lowrank benchmark: Dask${quick ? ' — QUICK SMOKE RUN' : ''}`,
    ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
    '',
    ...what,
    '',
    textTable(h, rows),
  ].join('\n');
  const mk = markers(suite);
  const md = [
    mk.start,
    `### Dask: ${cfg.rows} x ${cfg.cols} in ${cfg.shards} shards${quick ? ' — quick smoke run' : ''}`,
    '',
    ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
    '',
    ...what.map((w) => `${w}\n`),
    mdTable(h, rows),
    mk.end,
  ].join('\n');
  process.stdout.write(`${text}\n\n${md}\n`);
  if (args.write) {
    const files = writeResults(
      suite,
      quick,
      args.tag,
      header.machine.date,
      { suite, schema: 1, quick, options: { ...cfg, qs, workers }, machine: header.machine, versions: header.versions, peer, single },
      md,
    );
    progress(suite, `wrote ${files.json} and ${files.md}`);
  }
}
