/**
 * `npm run bench -- compress`: the model-weights toolkit end to end on a synthetic checkpoint.
 *
 * 1. A safetensors file of `layers` f32 matrices n x n (default 24 x 4096 x 4096, 1.5 GiB) is written
 *    one layer at a time: W = G1 diag(d) G2 / n + 0.01 N(0, 1) with d_i = 1 / (1 + i / 32) over 512
 *    directions (a decaying spectrum plus a noise floor, like trained weights' bulk).
 * 2. The WeLore pass: every layer read (positioned reads) and its full spectrum computed (svdvals),
 *    one at a time, on native f32; seconds per matrix, and the process's resident memory sampled
 *    during the pass (must stay far below the file size: the file is never loaded whole).
 * 3. On the first `timed` layers, per matrix: svdvals, LORD at r = 512 (exact SVD, the default), EoRA at
 *    r = 128 (covariance of 2048 activation rows with log-normal channel scales, then eoraInit), on
 *    native f32 and WebGPU f32 (WebGPU only where it fits: a software adapter such as lavapipe runs the
 *    shaders on the CPU and a 4096^2 Jacobi SVD there takes hours, so it is timed at min(n, 512) and
 *    labelled so).
 * 4. PyTorch (Debian python3-torch, child process) on the same file and layers: torch.linalg.svdvals,
 *    torch.linalg.svd(full_matrices=False), torch.svd_lowrank(q = 522, niter = 2).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CovarianceAccumulator, eoraInit, engine, lordFactorize, openSafetensors, writeSafetensors, type Engine } from '../ts/index.js';
import type { BenchArgs } from './lib/args.js';
import { selected } from './lib/args.js';
import { cores } from './lib/machine.js';
import { headerPairs, markers, mdTable, textTable, writeResults } from './lib/report.js';
import { errMessage, progress, resetClock } from './lib/runner.js';
import { startHeader } from './lib/suite.js';
import { repoRoot } from './lib/machine.js';

const LORD_RANK = 512;
const EORA_RANK = 128;
const ACT_ROWS = 2048;

interface PerMatrix {
  config: string;
  n: number;
  svdvals?: number;
  lord?: number;
  lordError?: number;
  eora?: number;
  eoraWeighted?: number;
  covariance?: number;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
}

function layerName(i: number): string {
  return `model.layers.${i}.mlp.down_proj.weight`;
}

/** Writes the synthetic checkpoint one layer at a time (generated on the native engine). */
async function writeCheckpoint(file: string, layers: number, n: number): Promise<void> {
  const eng = await engine({ backend: 'native', dtype: 'f32' });
  try {
    const k = Math.min(512, n);
    const d = Float64Array.from({ length: k }, (_, i) => 1 / (1 + i / 32) / n);
    await writeSafetensors(
      file,
      Array.from({ length: layers }, (_, i) => ({
        name: layerName(i),
        dtype: 'F32' as const,
        shape: [n, n],
        data: async () =>
          eng.scope(async () => {
            const G1 = await eng.scaleColumns(eng.randn(n, k, { seed: 3 * i + 1 }), d);
            const LR = await eng.matmul(G1, eng.randn(k, n, { seed: 3 * i + 2 }));
            const W = await eng.axpby(Math.sqrt(n), LR, 0.01, eng.randn(n, n, { seed: 3 * i + 3 }));
            return (await W.toArray()) as Float32Array;
          }),
      })),
      { metadata: { format: 'pt', source: 'lowrank bench compress (synthetic)' } },
    );
  } finally {
    await eng.dispose();
  }
}

/** Activations N x n with log-normal channel scales (EoRA's setting), on the engine. */
async function activations(eng: Engine, n: number): Promise<CovarianceAccumulator> {
  const scales = Float64Array.from({ length: n }, (_, j) => Math.exp(1.5 * Math.sin(7.3 * j + 1)));
  const acc = new CovarianceAccumulator(eng, n);
  await eng.scope(async () => {
    const X = await eng.scaleColumns(eng.randn(ACT_ROWS, n, { seed: 99 }), scales);
    await acc.add(X);
  });
  return acc;
}

async function timeIt<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
}

/** svdvals, LORD r 512, EoRA r 128 on one matrix of the file (or its leading block of side `side`). */
async function perMatrix(eng: Engine, file: string, name: string, side: number, row: PerMatrix): Promise<void> {
  const f = await openSafetensors(file);
  try {
    await eng.scope(async () => {
      let W = await f.read(name, { engine: eng });
      if (side < W.rows) W = await eng.slice(W, { rows: [0, side], cols: [0, side] });
      const acc = await activations(eng, side);
      try {
        const [tc, C] = await timeIt(() => acc.covariance());
        row.covariance = tc;
        [row.svdvals] = await timeIt(() => eng.svdvals(W));
        const [tl, lord] = await timeIt(() => lordFactorize(W, { rank: Math.min(LORD_RANK, side / 4) }));
        row.lord = tl;
        row.lordError = lord.relError;
        // EoRA compensates W - Wc; here Wc = the LORD truncation, so dW = W - L R
        const LR = await eng.matmul(lord.L, lord.R);
        const dW = await eng.sub(W, LR);
        const [te, eo] = await timeIt(() => eoraInit(dW, C, { rank: Math.min(EORA_RANK, side / 4) }));
        row.eora = te;
        row.eoraWeighted = eo.weightedError;
      } finally {
        acc.dispose();
      }
    });
  } finally {
    await f.close();
  }
}

function torchPython(): string | undefined {
  for (const exe of [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((x): x is string => !!x))
    try {
      execFileSync(exe, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
      return exe;
    } catch {
      /* next */
    }
  return undefined;
}

export async function runCompress(args: BenchArgs): Promise<void> {
  resetClock();
  const suite = 'compress';
  const quick = args.quick;
  const n = args.shape?.[1] ?? (quick ? 512 : 4096);
  const layers = args.layers ?? (quick ? 3 : 24);
  const timed = Math.min(layers, args.timed ?? (quick ? 2 : 3));
  const header = startHeader(suite, args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lowrank-bench-compress-'));
  const file = path.join(dir, 'synthetic.safetensors');
  try {
    progress(suite, `writing ${layers} layers of ${n} x ${n} f32 to ${file}`);
    const [tw] = await timeIt(() => writeCheckpoint(file, layers, n));
    const fileBytes = fs.statSync(file).size;
    progress(suite, `  ${(fileBytes / 2 ** 20).toFixed(0)} MiB in ${tw.toFixed(1)} s`);

    // 2. the svdvals pass over every layer, resident memory sampled
    let pass: { perMatrix: number; rssPeak: number; rssStart: number; seconds: number } | undefined;
    {
      const eng = await engine({ backend: 'native', dtype: 'f32' });
      const f = await openSafetensors(file);
      try {
        global.gc?.();
        const rssStart = process.memoryUsage().rss;
        let rssPeak = rssStart;
        const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
        const t0 = performance.now();
        const bar = (i: number) => progress(suite, `  svdvals pass: ${i} / ${layers}`);
        for (let i = 0; i < layers; i++) {
          const W = await f.read(layerName(i), { engine: eng });
          await eng.svdvals(W);
          W.dispose();
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          if ((i + 1) % 6 === 0) bar(i + 1);
        }
        const seconds = (performance.now() - t0) / 1000;
        clearInterval(timer);
        pass = { perMatrix: seconds / layers, rssPeak, rssStart, seconds };
        progress(
          suite,
          `  svdvals pass: ${seconds.toFixed(1)} s (${pass.perMatrix.toFixed(2)} s per matrix), RSS ${(rssStart / 2 ** 20).toFixed(0)} -> peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB`,
        );
      } finally {
        await f.close();
        await eng.dispose();
      }
    }

    // 3. per matrix, native f32 and WebGPU f32
    const rows: PerMatrix[] = [];
    for (const c of [
      { id: 'lowrank-native-f32', backend: 'native' as const },
      { id: 'lowrank-webgpu-f32', backend: 'webgpu' as const },
    ]) {
      if (!selected(args, c.id)) continue;
      let eng: Engine | undefined;
      try {
        eng = await engine({ backend: c.backend, dtype: 'f32' });
        const software = c.backend === 'webgpu' && /llvmpipe|lavapipe|swiftshader/i.test(eng.info().adapter?.description ?? '');
        const side = software ? Math.min(n, 512) : n;
        const label = `lowrank ${c.backend} f32${c.backend === 'webgpu' ? ` (${eng.info().adapter?.description ?? 'adapter'})` : ''}`;
        for (let i = 0; i < timed; i++) {
          const row: PerMatrix = { config: label, n: side, status: 'ok' };
          if (software && side < n)
            row.reason = `software adapter: timed on the leading ${side} x ${side} block, LORD and EoRA at r ${side / 4}`;
          rows.push(row);
          try {
            await perMatrix(eng, file, layerName(i), side, row);
            progress(
              suite,
              `${label} layer ${i} (${side}^2): svdvals ${row.svdvals!.toFixed(2)} s, LORD r ${Math.min(LORD_RANK, side / 4)} ${row.lord!.toFixed(2)} s (error ${row.lordError!.toFixed(4)}), EoRA r ${Math.min(EORA_RANK, side / 4)} ${row.eora!.toFixed(2)} s (weighted error ${row.eoraWeighted!.toFixed(4)})`,
            );
          } catch (e) {
            row.status = 'failed';
            row.reason = errMessage(e);
            progress(suite, `${label}: failed: ${row.reason}`);
            break;
          }
        }
      } catch (e) {
        rows.push({ config: c.id, n, status: 'failed', reason: errMessage(e) });
      } finally {
        await eng?.dispose();
      }
    }

    // 4. torch
    let torch:
      | { version: string; threads: number; rows: Array<{ name: string; svdvals: number; svd: number; svd_lowrank: number }> }
      | undefined;
    let torchMissing: string | undefined;
    const py = selected(args, 'torch') ? torchPython() : undefined;
    if (!py) torchMissing = selected(args, 'torch') ? 'python3-torch is not installed' : 'skipped (--skip)';
    else {
      progress(suite, `torch (${py}) on layers 0..${timed - 1}`);
      try {
        const names = Array.from({ length: timed }, (_, i) => layerName(i)).join(',');
        const script = path.join(repoRoot, 'bench', 'peers', 'torch_compress.py');
        const outp = execFileSync(py, [script, file, String(cores()), names, String(LORD_RANK), '1'], {
          encoding: 'utf8',
          timeout: 3_600_000,
          maxBuffer: 1 << 24,
        });
        const parsed = JSON.parse(outp.trim().split('\n').pop()!);
        torch = { version: parsed.torch, threads: parsed.threads, rows: parsed.rows };
        for (const r of torch.rows)
          progress(
            suite,
            `  torch ${r.name}: svdvals ${r.svdvals.toFixed(2)} s, svd ${r.svd.toFixed(2)} s, svd_lowrank ${r.svd_lowrank.toFixed(2)} s`,
          );
      } catch (e) {
        torchMissing = `failed: ${errMessage(e).slice(0, 200)}`;
      }
    }

    // report
    const med = (xs: number[]) => {
      const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      return s.length ? s[Math.floor(s.length / 2)] : undefined;
    };
    const f2 = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(x < 1 ? 3 : 2));
    const byConfig = [...new Set(rows.map((r) => r.config))];
    const h1 = [
      'configuration',
      'n',
      'svdvals s',
      `LORD r ${LORD_RANK} s`,
      `EoRA r ${EORA_RANK} s`,
      'covariance s',
      'LORD error',
      'EoRA weighted error',
      'note',
    ];
    const t1 = byConfig.map((cfg) => {
      const rs = rows.filter((r) => r.config === cfg && r.status === 'ok');
      const bad = rows.find((r) => r.config === cfg && r.status !== 'ok');
      if (!rs.length) return [cfg, String(n), `failed: ${(bad?.reason ?? '').slice(0, 60)}`, '', '', '', '', '', ''];
      return [
        cfg,
        String(rs[0].n),
        f2(med(rs.map((r) => r.svdvals!))),
        f2(med(rs.map((r) => r.lord!))),
        f2(med(rs.map((r) => r.eora!))),
        f2(med(rs.map((r) => r.covariance!))),
        med(rs.map((r) => r.lordError!))?.toFixed(4) ?? '—',
        med(rs.map((r) => r.eoraWeighted!))?.toFixed(4) ?? '—',
        rs[0].reason ?? '',
      ];
    });
    if (torch)
      t1.push([
        `torch ${torch.version} (${torch.threads} threads)`,
        String(n),
        f2(med(torch.rows.map((r) => r.svdvals))),
        `${f2(med(torch.rows.map((r) => r.svd)))} (svd)`,
        `${f2(med(torch.rows.map((r) => r.svd_lowrank)))} (svd_lowrank q ${LORD_RANK + 10})`,
        '',
        '',
        '',
        'full svd = what LORD / EoRA need with the exact route',
      ]);
    const nat = rows.filter((r) => r.config.startsWith('lowrank native') && r.status === 'ok');
    const ratios: string[] = [];
    if (torch && nat.length) {
      const ts = med(torch.rows.map((r) => r.svdvals))!;
      const tsvd = med(torch.rows.map((r) => r.svd))!;
      ratios.push(`svdvals: torch / lowrank native = ${(ts / med(nat.map((r) => r.svdvals!))!).toFixed(2)}x (>1: lowrank faster)`);
      ratios.push(
        `LORD r ${LORD_RANK} (lowrank, full SVD + factors + error) vs torch.linalg.svd: ${(tsvd / med(nat.map((r) => r.lord!))!).toFixed(2)}x`,
      );
    }
    const pairs = headerPairs(header).filter(([k]) => k !== 'FMA peak');
    const what = [
      `Synthetic checkpoint: ${layers} layers of ${n} x ${n} f32 (${(fileBytes / 2 ** 20).toFixed(0)} MiB safetensors), W = sqrt(n) G1 diag(d) G2 + 0.01 N(0, 1) with Gaussian G1 (n x ${Math.min(512, n)}), G2, d_i = 1 / (n (1 + i / 32)): singular values about sqrt(n) / (1 + i / 32) over a noise floor; written in ${tw.toFixed(1)} s.`,
      pass
        ? `WeLore pass (every layer read with positioned reads, full spectrum by svdvals, one at a time, native f32, ${cores()} threads): ${pass.seconds.toFixed(1)} s in all, ${pass.perMatrix.toFixed(2)} s per matrix; resident memory ${(pass.rssStart / 2 ** 20).toFixed(0)} MiB before, peak ${(pass.rssPeak / 2 ** 20).toFixed(0)} MiB during the pass (sampled every 20 ms) against a ${(fileBytes / 2 ** 20).toFixed(0)} MiB file.`
        : 'WeLore pass: not run.',
      `Per matrix (median over the first ${timed} layers): LORD = exact SVD, factors and the error ||W - L R||_F / ||W||_F; EoRA = eigh of the ${n} x ${n} covariance of ${ACT_ROWS} activation rows, SVD of dW Q Lambda^1/2 and the factors, with dW = W - (LORD truncation). torch: ${torchMissing ?? 'same file and layers, one run each'}.`,
    ];
    const text = [
      `lowrank benchmark: model-weights toolkit${quick ? ' — QUICK SMOKE RUN' : ''}`,
      ...pairs.map(([k, v]) => `${k.padEnd(8)}: ${v}`),
      '',
      ...what,
      '',
      textTable(h1, t1),
      ...ratios,
    ].join('\n');
    const mk = markers(suite);
    const md = [
      mk.start,
      `### Model weights: ${layers} x ${n}^2 f32 checkpoint${quick ? ' — quick smoke run' : ''}`,
      '',
      ...pairs.map(([k, v]) => `- **${k}**: ${v}`),
      '',
      ...what.map((w) => w + '\n'),
      mdTable(h1, t1),
      '',
      ...ratios.map((r) => `- ${r}`),
      mk.end,
    ].join('\n');
    process.stdout.write(text + '\n\n' + md + '\n');
    if (args.write) {
      const json = {
        suite,
        schema: 1,
        quick,
        options: { n, layers, timed, lordRank: LORD_RANK, eoraRank: EORA_RANK, actRows: ACT_ROWS },
        machine: header.machine,
        versions: header.versions,
        addon: header.addon,
        fileBytes,
        pass,
        results: rows,
        torch: torch ?? { missing: torchMissing },
      };
      const files = writeResults(suite, quick, args.tag, header.machine.date, json, md);
      progress(suite, `wrote ${files.json} and ${files.md}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
