/** `lowrank compress` and `lowrank eora` on small checkpoints written in the test (and real trained weights). */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, weloreRanks, writeNpy, writeSafetensors } from '../../ts/index.js';
import { faceApiModelDir, readFaceApiModel } from '../../bench/lib/faceapi.js';
import { mulberryFill } from '../host-linalg.js';
import { withSpectrum } from '../helpers.js';
import { run, suiteTempDir } from './harness.js';

/** Row-major product of an m x r and an r x n host matrix. */
function mul(L: ArrayLike<number>, R: ArrayLike<number>, m: number, r: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let c = 0; c < r; c++) {
      const l = L[i * r + c];
      for (let j = 0; j < n; j++) out[i * n + j] += l * R[c * n + j];
    }
  return out;
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    s += b[i] ** 2;
  }
  return Math.sqrt(d / s);
}

describe('lowrank compress', () => {
  const dir = suiteTempDir('lowrank-cli-compress-');
  // q: singular values known (6 large + a tail), so the optimal errors are known
  const sq = Float64Array.from([40, 30, 20, 10, 5, 2.5, 0.4, 0.3, 0.2, 0.1]);
  const q = withSpectrum(60, 40, sq, 11).A;
  const up = withSpectrum(80, 30, Float64Array.from([9, 7, 5, 3, 1, 0.5, 0.25]), 12).A;
  const conv = new Float64Array(16 * 4 * 3 * 3);
  mulberryFill(conv, 5);
  const bias = Float32Array.from({ length: 60 }, (_, i) => i / 7);
  const ckpt = path.join(dir, 'model.safetensors');
  const idxBytes = new Uint8Array(new Int32Array([3, -1, 7, 42]).buffer);
  const tail = (k: number) => Math.sqrt(sq.slice(k).reduce((a, s) => a + s * s, 0) / sq.reduce((a, s) => a + s * s, 0));

  const ready = (async () => {
    await writeSafetensors(
      ckpt,
      [
        { name: 'layers.0.attn.q.weight', data: Float32Array.from(q), shape: [60, 40] },
        { name: 'layers.0.attn.q.bias', data: bias },
        { name: 'layers.0.mlp.up.weight', data: Float32Array.from(up), shape: [80, 30], dtype: 'F16' },
        { name: 'conv.weight', data: Float32Array.from(conv), shape: [16, 4, 3, 3] },
        { name: 'position_ids', dtype: 'I32', shape: [4], raw: idxBytes },
      ],
      { metadata: { format: 'pt', source: 'test' } },
    );
  })();

  it('lord --rank: L R factors (conv kernels as conv pairs), the optimal error, other tensors copied byte for byte', async () => {
    await ready;
    const out = path.join(dir, 'lord.safetensors');
    const r = await run(['compress', ckpt, '--method', 'lord', '--rank', '4', '--out', out, '--backend', 'native', '--dtype', 'f64']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/layers\.0\.attn\.q\.weight\s+60x40\s+4 /);
    expect(r.out).toMatch(/3 of 3 selected tensors factorized/);
    const f = await openSafetensors(out);
    expect(f.metadata.source).toBe('test');
    const layout = JSON.parse(f.metadata['lowrank.compress']);
    expect(layout.tensors['conv.weight']).toMatchObject({ rank: 4, L: [16, 4, 1, 1], R: [4, 4, 3, 3] });
    expect(f.names()).toEqual([
      'layers.0.attn.q.weight.L',
      'layers.0.attn.q.weight.R',
      'layers.0.attn.q.bias',
      'layers.0.mlp.up.weight.L',
      'layers.0.mlp.up.weight.R',
      'conv.weight.L',
      'conv.weight.R',
      'position_ids',
    ]);
    expect(f.info('layers.0.mlp.up.weight.L')).toMatchObject({ dtype: 'F16', shape: [80, 4] });
    expect(f.info('conv.weight.R').shape).toEqual([4, 4, 3, 3]);
    const L = (await f.read('layers.0.attn.q.weight.L')) as Float32Array;
    const R = (await f.read('layers.0.attn.q.weight.R')) as Float32Array;
    // Eckart-Young: ||W - L R||_F / ||W||_F = tail(4) (the input was rounded to f32: a few ulps)
    expect(Math.abs(relDiff(mul(L, R, 60, 4, 40), q) - tail(4))).toBeLessThan(1e-5);
    expect(Array.from((await f.read('layers.0.attn.q.bias')) as Float32Array)).toEqual(Array.from(bias));
    expect(await f.readBytes('position_ids')).toEqual(idxBytes);
    await f.close();
  });

  it('--energy picks the smallest rank keeping the energy; --json; --include / --exclude', async () => {
    await ready;
    const out = path.join(dir, 'energy.safetensors');
    const r = await run(
      ['compress', ckpt, '--energy', '0.99', '--include', 'attn', '--out', out, '--json', '--backend', 'native', '--dtype', 'f64'],
      { LOWRANK_PROGRESS: '0' },
    );
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.tensors.map((t: { name: string }) => t.name)).toEqual(['layers.0.attn.q.weight']);
    const e = (k: number) => 1 - tail(k) ** 2;
    const k = rep.tensors[0].rank;
    expect(e(k)).toBeGreaterThanOrEqual(0.99 - 1e-7);
    expect(e(k - 1)).toBeLessThan(0.99);
    expect(rep.tensors[0].energy).toBeCloseTo(e(k), 5);
    expect(rep.tensors[0].relError).toBeCloseTo(tail(k), 4);
    expect(rep.totals).toMatchObject({ selected: 1, factorized: 1, paramsBefore: 2400, paramsAfter: k * 100 });
    const ex = await run(['compress', ckpt, '--energy', '0.99', '--exclude', 'attn|mlp', '--out', out, '--json', '--backend', 'native']);
    expect(ex.code, ex.err).toBe(0);
    expect(JSON.parse(ex.out).tensors.map((t: { name: string }) => t.name)).toEqual(['conv.weight']);
  });

  it('trp --merge writes the dense truncation under the original names and shapes', async () => {
    await ready;
    const out = path.join(dir, 'trp.safetensors');
    const r = await run(['compress', ckpt, '--method', 'trp', '--merge', '--out', out, '--json', '--backend', 'native', '--dtype', 'f64']);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    const qRow = rep.tensors.find((t: { name: string }) => t.name === 'layers.0.attn.q.weight');
    // energy 0.9 of [40, 30, 20, 10, ...]: 1600 + 900 = 2500 of 3131.5 (80 %), + 400 = 92.6 % -> k = 3
    expect(qRow.rank).toBe(3);
    const f = await openSafetensors(out);
    expect(f.info('conv.weight').shape).toEqual([16, 4, 3, 3]);
    const W = (await f.read('layers.0.attn.q.weight')) as Float32Array;
    expect(Math.abs(relDiff(W, q) - tail(3))).toBeLessThan(1e-5);
    await f.close();
  });

  it('welore: one global tau (the same ranks as weloreRanks on the spectra); svfit parts add up to W', async () => {
    await ready;
    const out = path.join(dir, 'welore.safetensors');
    const r = await run([
      'compress',
      ckpt,
      '--method',
      'welore',
      '--tau',
      '0.05',
      '--out',
      out,
      '--json',
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.welore.tau).toBe(0.05);
    const qs = rep.tensors[0];
    // q's normalized spectrum (s - min) / (max - min) over its 40 values: 37 zeros after the tenth, so
    // the values below 0.05 are the 30 zeros and 0.4 .. 0.1 and 2.5 (s^ = 0.0625 is kept): rank 6
    expect(qs.rank).toBe(weloreRanks([{ s: padTo(sq, 40), shape: [60, 40] }], { tau: 0.05 }).ranks[0]);
    const sv = path.join(dir, 'svfit.safetensors');
    const r2 = await run([
      'compress',
      ckpt,
      '--method',
      'svfit',
      '--rank',
      '3',
      '--include',
      'q.weight',
      '--out',
      sv,
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r2.code, r2.err).toBe(0);
    const f = await openSafetensors(sv);
    const U = (await f.read('layers.0.attn.q.weight.U')) as Float32Array;
    const s = (await f.read('layers.0.attn.q.weight.sigma')) as Float32Array;
    const V = (await f.read('layers.0.attn.q.weight.V')) as Float32Array;
    const E = (await f.read('layers.0.attn.q.weight.residual')) as Float32Array;
    const US = Float64Array.from(U, (u, i) => u * s[i % 3]);
    const Vt = new Float64Array(3 * 40);
    for (let j = 0; j < 40; j++) for (let c = 0; c < 3; c++) Vt[c * 40 + j] = V[j * 3 + c];
    const back = mul(US, Vt, 60, 3, 40).map((x, i) => x + E[i]);
    expect(relDiff(back, q)).toBeLessThan(1e-6);
    await f.close();
  });

  it('speaks in the user terms: missing flags, a folder as --out, no tensor selected, non-finite weights', async () => {
    await ready;
    const out = path.join(dir, 'x.safetensors');
    const noRank = await run(['compress', ckpt, '--out', out]);
    expect(noRank.code).toBe(2);
    expect(noRank.err).toMatch(/--method lord needs --rank R or --energy E/);
    const folder = await run(['compress', ckpt, '--rank', '2', '--out', dir]);
    expect(folder.code).toBe(2);
    expect(folder.err).toMatch(/is a folder/);
    const none = await run(['compress', ckpt, '--rank', '2', '--include', 'nothing-matches', '--out', out]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no tensor of model\.safetensors was selected/);
    const same = await run(['compress', ckpt, '--rank', '2', '--out', ckpt]);
    expect(same.err).toMatch(/--out must differ from the input/);
    const bad = path.join(dir, 'nan.safetensors');
    const w = new Float32Array(12).fill(1);
    w[7] = Number.NaN;
    await writeSafetensors(bad, [{ name: 'w', data: w, shape: [3, 4] }]);
    const nan = await run(['compress', bad, '--rank', '1', '--out', out, '--backend', 'native']);
    expect(nan.code).toBe(1);
    expect(nan.err).toMatch(/tensor "w": entry 7 \(row 1, col 3\) is NaN/);
  });

  it.skipIf(!faceApiModelDir())('real trained weights (face-api ResNet conv kernels): energy ranks and errors consistent', async () => {
    const real = (await readFaceApiModel('face_recognition_model')).filter((t) => /conv128_1\.conv1\.conv\.filters|^fc$/.test(t.name));
    expect(real.map((t) => t.name)).toEqual(['conv128_1.conv1.conv.filters', 'fc']);
    const file = path.join(dir, 'face.safetensors');
    await writeSafetensors(
      file,
      real.map((t) => ({ name: t.name, data: t.data, shape: t.shape })),
    );
    const out = path.join(dir, 'face-lord.safetensors');
    const r = await run(['compress', file, '--energy', '0.9', '--out', out, '--json', '--backend', 'native']);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    for (const t of rep.tensors) {
      // the optimal error of the energy rank: sqrt(1 - energy kept), and below sqrt(0.1)
      expect(t.relError).toBeCloseTo(Math.sqrt(1 - t.energy), 3);
      expect(t.relError).toBeLessThanOrEqual(Math.sqrt(0.1) + 1e-4);
      expect(t.rank).toBeGreaterThan(1);
    }
  });
});

function padTo(s: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  out.set(s);
  return out;
}

describe('lowrank eora', () => {
  const dir = suiteTempDir('lowrank-cli-eora-');
  const [out1, in1, N] = [24, 32, 400];
  const W = new Float64Array(out1 * in1);
  mulberryFill(W, 21);
  // compressed: 3-bit row-absmax quantization (the spec's compressor)
  const Wc = W.map((x, i) => {
    const row = Math.floor(i / in1);
    let m = 0;
    for (let j = 0; j < in1; j++) m = Math.max(m, Math.abs(W[row * in1 + j]));
    const step = m / 3;
    return Math.round(x / step) * step;
  });
  // activations with very different channel scales
  const X = new Float64Array(N * in1);
  mulberryFill(X, 22);
  for (let i = 0; i < N; i++) for (let j = 0; j < in1; j++) X[i * in1 + j] *= Math.exp(2 * Math.sin(3 * j));

  /** ||(dW - B A) X^T||_F / ||dW X^T||_F on the host. */
  function weighted(B: ArrayLike<number>, A: ArrayLike<number>, r: number): number {
    const dW = W.map((w, i) => w - Wc[i]);
    const BA = mul(B, A, out1, r, in1);
    let num = 0,
      den = 0;
    for (let s = 0; s < N; s++)
      for (let o = 0; o < out1; o++) {
        let a = 0,
          b = 0;
        for (let j = 0; j < in1; j++) {
          a += (dW[o * in1 + j] - BA[o * in1 + j]) * X[s * in1 + j];
          b += dW[o * in1 + j] * X[s * in1 + j];
        }
        num += a * a;
        den += b * b;
      }
    return Math.sqrt(num / den);
  }

  it('writes a PEFT adapter whose weighted error is the reported one, from --acts .npy or --cov', async () => {
    const wf = path.join(dir, 'W.safetensors'),
      cf = path.join(dir, 'Wc.safetensors'),
      af = path.join(dir, 'acts.npy');
    await writeSafetensors(wf, [
      { name: 'model.layers.0.mlp.down_proj.weight', data: W, shape: [out1, in1], dtype: 'F32' },
      { name: 'model.norm.weight', data: new Float32Array(in1).fill(1) },
    ]);
    await writeSafetensors(cf, [{ name: 'model.layers.0.mlp.down_proj.weight', data: Wc, shape: [out1, in1], dtype: 'F32' }]);
    await writeNpy(af, X, [N, in1]);
    const adir = path.join(dir, 'adapter');
    const r = await run([
      'eora',
      '-w',
      wf,
      '-c',
      cf,
      '--acts',
      af,
      '--rank',
      '4',
      '--out',
      adir,
      '--json',
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.layers).toHaveLength(1);
    const config = JSON.parse(readFileSync(path.join(adir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 4, target_modules: ['model.layers.0.mlp.down_proj'] });
    const f = await openSafetensors(path.join(adir, 'adapter_model.safetensors'));
    expect(f.names()).toEqual([
      'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight',
      'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight',
    ]);
    expect(f.info('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight').shape).toEqual([4, in1]);
    expect(f.info('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight').shape).toEqual([out1, 4]);
    const A = (await f.read('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')) as Float32Array;
    const B = (await f.read('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')) as Float32Array;
    await f.close();
    const we = weighted(B, A, 4);
    expect(Math.abs(we - rep.layers[0].weightedError)).toBeLessThan(1e-4);
    expect(we).toBeLessThan(0.95);

    // the same from a covariance file (C = X^T X / N), named like the module
    const C = new Float64Array(in1 * in1);
    for (let s = 0; s < N; s++)
      for (let a = 0; a < in1; a++) for (let b = 0; b < in1; b++) C[a * in1 + b] += (X[s * in1 + a] * X[s * in1 + b]) / N;
    const covf = path.join(dir, 'cov.safetensors');
    await writeSafetensors(covf, [{ name: 'model.layers.0.mlp.down_proj', data: C, shape: [in1, in1] }]);
    const adir2 = path.join(dir, 'adapter2');
    await mkdir(adir2);
    const r2 = await run([
      'eora',
      '-w',
      wf,
      '-c',
      cf,
      '--cov',
      covf,
      '--rank',
      '4',
      '--out',
      adir2,
      '--json',
      '--backend',
      'native',
      '--dtype',
      'f64',
    ]);
    expect(r2.code, r2.err).toBe(0);
    expect(JSON.parse(r2.out).layers[0].weightedError).toBeCloseTo(rep.layers[0].weightedError, 8);
  });

  it('names the problem: both or neither statistics, a width mismatch, absent tensors', async () => {
    const wf = path.join(dir, 'W2.safetensors');
    await writeSafetensors(wf, [{ name: 'a.weight', data: new Float32Array(12).map((_, i) => Math.sin(i)), shape: [3, 4] }]);
    const af = path.join(dir, 'acts5.npy');
    await writeNpy(
      af,
      new Float64Array(50).map((_, i) => Math.cos(i)),
      [10, 5],
    );
    const both = await run(['eora', '-w', wf, '-c', wf, '--rank', '2', '--out', path.join(dir, 'o')]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/give --acts FILE or --cov FILE/);
    const wide = await run(['eora', '-w', wf, '-c', wf, '--acts', af, '--rank', '2', '--out', path.join(dir, 'o'), '--backend', 'native']);
    expect(wide.code).toBe(1);
    expect(wide.err).toMatch(/acts5\.npy has 5 columns but a\.weight takes 4 inputs/);
    await writeFile(path.join(dir, 'empty.txt'), '');
  });
});
