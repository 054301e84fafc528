/**
 * Fuzzes the native addon boundary: every entry point is called with random argument counts, types,
 * dimensions and array lengths (mostly consistent ones, so the computations really run, including on
 * NaN/Inf data and aliased outputs). Each call must either throw a TypeError/RangeError synchronously
 * or return a Promise that settles (resolves, or rejects with an Error) in bounded time. A crash takes
 * the test process down and fails the suite.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { PhiloxRng } from '../../ts/rng/philox.js';

type Kind =
  | { t: 'F'; len: (d: Dims) => number; f64?: boolean }
  | { t: 'Fnull'; len: (d: Dims) => number }
  | { t: 'I'; len: (d: Dims) => number; csr?: boolean }
  | { t: 'Inull'; len: (d: Dims) => number }
  | { t: 'dim'; name: keyof Dims }
  | { t: 'bool' }
  | { t: 'num' }
  | { t: 'word' }
  | { t: 'str'; options: string[] }
  | { t: 'threads' }
  | { t: 'int'; v: (d: Dims) => number };

interface Dims {
  m: number; n: number; k: number; p: number; nnz: number;
}

const F = (len: (d: Dims) => number, f64 = false): Kind => ({ t: 'F', len, f64 });
const dim = (name: keyof Dims): Kind => ({ t: 'dim', name });
const I = (len: (d: Dims) => number, csr = false): Kind => ({ t: 'I', len, csr });
const T: Kind = { t: 'threads' };
const B: Kind = { t: 'bool' };
const N: Kind = { t: 'num' };
const W: Kind = { t: 'word' };
const int = (v: (d: Dims) => number): Kind => ({ t: 'int', v });

const SPECS: Record<string, Kind[]> = {
  gemm: [F((d) => d.m * d.k), F((d) => d.k * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), dim('k'), B, B, N, N, T],
  axpby: [F((d) => d.m), N, F((d) => d.m), N, { t: 'Fnull', len: (d) => d.m }, T],
  hadamard: [F((d) => d.m), F((d) => d.m), F((d) => d.m), T],
  transpose: [F((d) => d.m * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), T],
  norm: [F((d) => d.m * d.n), { t: 'str', options: ['fro', 'max'] }, T],
  colNorms: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.n, true), T],
  rowNorms: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m, true), T],
  random: [F((d) => d.m), { t: 'str', options: ['uniform', 'normal'] }, W, W, W, W, W, T],
  full: [F((d) => d.m * d.n), N, T],
  copy2d: [F((d) => d.m * d.n), int((d) => d.n * Math.min(1, d.m - 1)), int((d) => d.n), F((d) => d.m * d.n + d.k), int((d) => d.k), int((d) => d.n), int((d) => Math.max(0, d.m - 1)), dim('n'), T],
  scaleAxis: [F((d) => d.m * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.n, true), B, T],
  colAbsMax: [F((d) => d.m * d.n), dim('m'), dim('n'), I((d) => d.n), F((d) => d.n, true), T],
  lu: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.n), F((d) => d.n * d.n), T],
  qr: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.n), F((d) => d.n * d.n), T],
  cholesky: [F((d) => d.n * d.n), dim('n'), F((d) => d.n * d.n), T],
  trsm: [F((d) => d.n * d.n), dim('n'), F((d) => d.n * d.p), dim('p'), B, B, F((d) => d.n * d.p), T],
  lstsq: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.p), dim('p'), F((d) => d.n * d.p), T],
  eigh: [F((d) => d.n * d.n), dim('n'), F((d) => d.n, true), F((d) => d.n * d.n), T],
  svd: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * Math.min(d.m, d.n)), F((d) => Math.min(d.m, d.n), true), F((d) => d.n * Math.min(d.m, d.n)), T],
  spmm: [I((d) => d.m + 1, true), I((d) => d.nnz), F((d) => d.nnz), { t: 'Inull', len: (d) => d.nnz }, dim('m'), dim('n'), F((d) => d.n * d.p), dim('p'), F((d) => d.m * d.p), T],
  sddmm: [I((d) => d.m + 1, true), I((d) => d.nnz), dim('m'), dim('n'), F((d) => d.m * d.k), F((d) => d.n * d.k), dim('k'), F((d) => d.nnz), T],
  eigGeneral: [F((d) => d.n * d.n, true), dim('n'), F((d) => d.n, true), F((d) => d.n, true), F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), T],
  eigGeneralComplex: [F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), dim('n'), F((d) => d.n, true), F((d) => d.n, true), F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), T],
  ssmVandermonde: [F((d) => d.m * d.n * 4, true), dim('m'), dim('n'), dim('k'), F((d) => d.m * d.k), T],
  ssmConv: [F((d) => d.m * d.p * d.k), F((d) => d.m * d.k), int((d) => d.m * d.p), dim('m'), dim('k'), F((d) => d.m, true), F((d) => d.m * d.p * d.k), T],
  ssmScan: [F((d) => d.m * d.p * d.k), F((d) => d.m * d.n * 6, true), int((d) => d.m * d.p), dim('m'), dim('n'), dim('k'), F((d) => d.m * d.p * d.k), T],
  gaussApply: [F((d) => d.n), dim('n'), dim('m'), F((d) => d.m), W, W, W, W, W, T],
  gaussAdjoint: [F((d) => d.m), dim('m'), dim('n'), F((d) => d.n), W, W, W, W, W, T],
  sign: [F((d) => d.m * d.n), F((d) => d.m * d.n), T],
  // segmented least squares (native/completion.cc): segments = m, other side n
  segGram: [I((d) => d.m + 1, true), I((d) => d.nnz), dim('m'), dim('n'), F((d) => d.n * d.k), dim('k'), { t: 'Inull', len: (d) => d.nnz }, int((d) => d.p), F((d) => d.m * d.k * d.k), T],
  cholBatch: [F((d) => d.m * d.k * d.k), dim('m'), dim('k'), { t: 'Fnull', len: (d) => d.m }, N, B, F((d) => d.m * d.k * d.k), F((d) => d.m), T],
  cholSolveBatch: [F((d) => d.m * d.k * d.k), dim('m'), dim('k'), F((d) => d.m * d.k), F((d) => d.m * d.k), T],
  segCg: [I((d) => d.m + 1, true), I((d) => d.nnz), F((d) => d.nnz), { t: 'Inull', len: (d) => d.nnz }, dim('m'), dim('n'), F((d) => d.n * d.k), dim('k'), F((d) => d.m * d.k), F((d) => d.m * d.k * d.k), int((d) => d.k * d.k), int((d) => d.p), F((d) => d.m * d.k), { t: 'Fnull', len: (d) => d.m }, T],
};

const JUNK: unknown[] = [undefined, null, -1, 0.5, NaN, Infinity, 2 ** 31, 1e12, '3', 'x', {}, [], [1, 2], true, () => 0, new Uint8Array(4), new Int32Array(3), new Float32Array(2), new Float64Array(2), new DataView(new ArrayBuffer(8))];

function fuzzCall(rng: PhiloxRng, spec: Kind[]): unknown[] {
  const pick = <X>(a: X[]): X => a[rng.int(a.length)];
  const small = () => (rng.next() < 0.15 ? 0 : 1 + rng.int(rng.next() < 0.9 ? 7 : 40));
  const d: Dims = { m: small(), n: small(), k: small(), p: small(), nnz: 0 };
  d.nnz = rng.int(d.m * d.n + 1);
  const f64 = rng.next() < 0.5;
  const arrays: (Float32Array | Float64Array)[] = [];
  const args: unknown[] = spec.map((kind) => {
    if (rng.next() < 0.04) return pick(JUNK);
    switch (kind.t) {
      case 'F':
      case 'Fnull': {
        if (kind.t === 'Fnull' && rng.next() < 0.3) return null;
        let len = kind.len(d);
        if (rng.next() < 0.08) len = Math.max(0, len + pick([-1, 1, 5]));
        const wide = kind.t === 'F' && kind.f64 ? true : rng.next() < 0.03 ? !f64 : f64;
        const a = wide ? new Float64Array(len) : new Float32Array(len);
        const special = rng.next() < 0.15;
        for (let i = 0; i < len; i++) a[i] = special && rng.next() < 0.2 ? pick([NaN, Infinity, -Infinity, 0, 1e38, -1e-40]) : rng.normal();
        if (arrays.length && rng.next() < 0.05) return pick(arrays); // aliasing
        arrays.push(a);
        return a;
      }
      case 'I':
      case 'Inull': {
        if (kind.t === 'Inull' && rng.next() < 0.5) return null;
        let len = kind.len(d);
        if (rng.next() < 0.08) len = Math.max(0, len + pick([-1, 1]));
        const a = new Int32Array(len);
        if (kind.t === 'I' && kind.csr && rng.next() < 0.8) {
          // a valid row-pointer array for nnz entries
          for (let i = 1; i < len; i++) a[i] = i === len - 1 ? d.nnz : Math.min(d.nnz, a[i - 1] + rng.int(3));
        } else {
          const hi = kind.t === 'Inull' ? d.nnz : d.n; // CSR column indices live in [0, cols)
          for (let i = 0; i < len; i++) a[i] = rng.next() < 0.05 ? pick([-1, 2 ** 31 - 1, hi]) : rng.int(Math.max(hi, 1));
        }
        return a;
      }
      case 'dim':
        return rng.next() < 0.05 ? pick([-1, 1.5, NaN, 2 ** 31, 2 ** 31 - 1, 1e15]) : d[kind.name];
      case 'bool':
        return rng.next() < 0.5;
      case 'num':
        return rng.next() < 0.05 ? pick([NaN, Infinity]) : rng.normal();
      case 'word':
        return rng.next() < 0.05 ? pick([-1, 2 ** 32, 0.5]) : rng.int(2 ** 32);
      case 'str':
        return rng.next() < 0.1 ? pick(['', 'nuc', 'FRO']) : pick(kind.options);
      case 'int':
        return rng.next() < 0.05 ? pick([-1, 1.5, NaN, 2 ** 53, 1e9]) : kind.v(d);
      case 'threads':
        return rng.next() < 0.05 ? pick([0, -1, 2.5, 2000]) : 1 + rng.int(3);
    }
  });
  if (rng.next() < 0.03) return args.slice(0, rng.int(args.length));
  if (rng.next() < 0.02) return [...args, 1];
  return args;
}

function settleWithin<T>(p: Promise<T>, ms: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
    p.then(
      (v) => { clearTimeout(t); resolve(v); },
      (e) => { clearTimeout(t); resolve(e); },
    );
  });
}

describe('addon fuzz', () => {
  const addon = loadAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const [name, spec] of Object.entries(SPECS)) {
    it(`${name} never crashes or hangs`, async () => {
      expect(typeof addon[name]).toBe('function');
      const rng = new PhiloxRng(20261126, name.length * 131 + name.charCodeAt(0));
      let ran = 0;
      // long signatures (10+ arguments) get more calls: each argument can be junk or off by one
      const calls = spec.length >= 10 ? 900 : 300;
      for (let iter = 0; iter < calls; iter++) {
        const args = fuzzCall(rng, spec);
        let ret: unknown;
        try {
          ret = addon[name](...args);
        } catch (e) {
          expect(e instanceof TypeError || e instanceof RangeError, `${name}: sync throw ${String(e)}`).toBe(true);
          continue;
        }
        expect(ret, `${name} must return a Promise`).toBeInstanceOf(Promise);
        const settled = await settleWithin(ret as Promise<unknown>, 20_000, `${name}(${args.map((a) => (ArrayBuffer.isView(a) ? `${a.constructor.name}(${(a as Float32Array).length})` : String(a))).join(', ')})`);
        if (settled instanceof Error && /^hang:/.test(settled.message)) throw settled;
        if (settled instanceof Error) expect(settled.message).toMatch(/lowrank native/);
        ran++;
      }
      // the generator must exercise real computations, not only argument errors
      expect(ran).toBeGreaterThan(50);
    });
  }
});
