// Child process of test/fuzz/addon.test.ts (plain JS: it runs under `node --expose-gc` without a TS
// loader). Fuzzes the named addon exports and prints one JSON line { ran, checked, violations }. A crash
// (segfault, abort) kills this process, which the parent detects from the exit status.
//
// Every call gets one of these treatments:
//   plain       mostly consistent random arguments, sometimes junk, off-by-one lengths, aliasing, NaN/Inf
//   offset      the same valid call with every typed array a view at an offset inside a larger buffer
//               (sentinels around it): results must equal the plain call's bit for bit, sentinels intact
//   shared      one typed array on a SharedArrayBuffer: a synchronous TypeError naming the function
//   resizable   one typed array on a resizable ArrayBuffer: a synchronous TypeError naming the function
//   detached    one typed array detached before the call: a synchronous TypeError naming the function
//   during      a valid call; right after it returns, one typed array is transferred away (and collected),
//               a resizable view... no: the others are overwritten with garbage; it must resolve with the
//               plain call's outputs (the addon works on copies) or reject with a TypeError naming the
//               detached argument
//   huge        one dimension huge (up to 2^31 - 1) and the others 0, so that every length check passes
// Outcomes allowed: resolve, or a TypeError/RangeError whose message names the function.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addon = createRequire(import.meta.url)(process.env.LOWRANK_NATIVE_ADDON ?? path.join(root, 'build', 'Release', 'lowrank.node'));

// ---- seeded generator (splitmix32-style) -----------------------------------------------------------
function makeRng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}

// ---- signatures --------------------------------------------------------------------------------
const F = (len, f64 = false) => ({ t: 'F', len, f64 });
const Fnull = (len, f64 = false) => ({ t: 'Fnull', len, f64 });
const I = (len, csr = false) => ({ t: 'I', len, csr });
const Inull = (len) => ({ t: 'Inull', len });
const dim = (name) => ({ t: 'dim', name });
const int = (v) => ({ t: 'int', v });
const str = (options) => ({ t: 'str', options });
const T = { t: 'threads' }, B = { t: 'bool' }, N = { t: 'num' }, W = { t: 'word' };

export const SPECS = {
  info: [],
  own: [F((d) => d.m * d.n)],
  lineOffset: [F((d) => d.m * d.n)],
  peak: [str(['f32', 'f64']), T, { t: 'millis' }],
  gemm: [F((d) => d.m * d.k), F((d) => d.k * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), dim('k'), B, B, N, N, T],
  syrk: [F((d) => d.n * d.k), F((d) => d.n * d.n), dim('n'), dim('k'), B, N, N, T],
  gram: [F((d) => d.n * d.k), F((d) => d.n * d.n), dim('n'), dim('k'), B, N, T],
  axpby: [F((d) => d.m), N, F((d) => d.m), N, Fnull((d) => d.m), T],
  hadamard: [F((d) => d.m), F((d) => d.m), F((d) => d.m), T],
  transpose: [F((d) => d.m * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), T],
  norm: [F((d) => d.m * d.n), str(['fro', 'max']), T],
  colNorms: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.n, true), T],
  rowNorms: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m, true), T],
  random: [F((d) => d.m), str(['uniform', 'normal']), W, W, W, W, W, T],
  full: [F((d) => d.m * d.n), N, T],
  copy2d: [F((d) => d.m * d.n), int((d) => d.n * Math.max(0, Math.min(1, d.m - 1))), int((d) => d.n), F((d) => d.m * d.n + d.k), int((d) => d.k), int((d) => d.n), int((d) => Math.max(0, d.m - 1)), dim('n'), T],
  scaleAxis: [F((d) => d.m * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.n, true), B, T],
  colAbsMax: [F((d) => d.m * d.n), dim('m'), dim('n'), I((d) => d.n), F((d) => d.n, true), T],
  rowArgmin: [F((d) => d.m * d.n), dim('m'), dim('n'), I((d) => d.m), F((d) => d.m, true), T],
  fwht: [F((d) => d.m * d.n), F((d) => d.m * d.n), dim('m'), dim('n'), T],
  adamStep: [F((d) => d.m), F((d) => d.m), F((d) => d.m), F((d) => d.m), F((d) => d.m), F((d) => d.m), N, N, N, N, T],
  fakeQuantize: [F((d) => d.m * d.n), F((d) => d.m * d.n), int((d) => 2 + (d.n % 7)), dim('k'), B, W, W, W, W, W, T],
  lu: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.n), F((d) => d.n * d.n), T],
  qr: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.n), F((d) => d.n * d.n), T],
  cholesky: [F((d) => d.n * d.n), dim('n'), F((d) => d.n * d.n), T],
  solveTriangular: [F((d) => d.n * d.n), dim('n'), F((d) => d.n * d.p), dim('p'), B, B, F((d) => d.n * d.p), T],
  lstsq: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * d.p), dim('p'), F((d) => d.n * d.p), T],
  eigh: [F((d) => d.n * d.n), dim('n'), F((d) => d.n, true), F((d) => d.n * d.n), T],
  svd: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => d.m * Math.min(d.m, d.n)), F((d) => Math.min(d.m, d.n), true), F((d) => d.n * Math.min(d.m, d.n)), T],
  svdvals: [F((d) => d.m * d.n), dim('m'), dim('n'), F((d) => Math.min(d.m, d.n), true), T],
  spmm: [I((d) => d.m + 1, true), I((d) => d.nnz), F((d) => d.nnz), Inull((d) => d.nnz), dim('m'), dim('n'), F((d) => d.n * d.p), dim('p'), F((d) => d.m * d.p), T],
  sddmm: [I((d) => d.m + 1, true), I((d) => d.nnz), dim('m'), dim('n'), F((d) => d.m * d.k), F((d) => d.n * d.k), dim('k'), F((d) => d.nnz), T],
  eigGeneral: [F((d) => d.n * d.n, true), dim('n'), F((d) => d.n, true), F((d) => d.n, true), F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), T],
  eigGeneralComplex: [F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), dim('n'), F((d) => d.n, true), F((d) => d.n, true), F((d) => d.n * d.n, true), F((d) => d.n * d.n, true), T],
  ssmVandermonde: [F((d) => d.m * d.n * 4, true), dim('m'), dim('n'), dim('k'), F((d) => d.m * d.k), T],
  ssmConv: [F((d) => d.m * d.p * d.k), F((d) => d.m * d.k), int((d) => d.m * d.p), dim('m'), dim('k'), F((d) => d.m, true), F((d) => d.m * d.p * d.k), T],
  ssmScan: [F((d) => d.m * d.p * d.k), F((d) => d.m * d.n * 6, true), int((d) => d.m * d.p), dim('m'), dim('n'), dim('k'), F((d) => d.m * d.p * d.k), T],
  gaussianApply: [F((d) => d.n), dim('n'), dim('m'), F((d) => d.m), W, W, W, W, W, T],
  gaussianAdjoint: [F((d) => d.m), dim('m'), dim('n'), F((d) => d.n), W, W, W, W, W, T],
  sign: [F((d) => d.m * d.n), F((d) => d.m * d.n), T],
  segmentGram: [I((d) => d.m + 1, true), I((d) => d.nnz), dim('m'), dim('n'), F((d) => d.n * d.k), dim('k'), Inull((d) => d.nnz), int((d) => d.p), F((d) => d.m * d.k * d.k), T],
  choleskyBatch: [F((d) => d.m * d.k * d.k), dim('m'), dim('k'), Fnull((d) => d.m, true), N, B, F((d) => d.m * d.k * d.k), F((d) => d.m), T],
  choleskySolveBatch: [F((d) => d.m * d.k * d.k), dim('m'), dim('k'), F((d) => d.m * d.k), F((d) => d.m * d.k), T],
  segmentCG: [I((d) => d.m + 1, true), I((d) => d.nnz), F((d) => d.nnz), Inull((d) => d.nnz), dim('m'), dim('n'), F((d) => d.n * d.k), dim('k'), F((d) => d.m * d.k), F((d) => d.m * d.k * d.k), int((d) => d.k * d.k), int((d) => d.p), F((d) => d.m * d.k), Fnull((d) => d.m), T],
};

const JUNK = [undefined, null, -1, 0.5, NaN, Infinity, 2 ** 31, 1e12, '3', 'x', {}, [], [1, 2], true, () => 0, new Uint8Array(4), new Int32Array(3), new Float32Array(2), new Float64Array(2), new DataView(new ArrayBuffer(8))];
const HUGE = [2 ** 16 + 1, 2 ** 20, 2 ** 31 - 1];
const MAX_LEN = 1 << 22; // calls needing larger arrays are skipped (memory)

/** Arguments for one call; `valid`: no junk or off-by-one lengths. null when the arrays would be too large. */
function makeArgs(rng, spec, { valid, huge, big }) {
  const pick = (a) => a[rng.int(a.length)];
  const small = () => (rng.next() < 0.15 ? 0 : 1 + rng.int(rng.next() < 0.9 ? 7 : 40));
  const d = big ? { m: 60 + rng.int(80), n: 60 + rng.int(80), k: 60 + rng.int(80), p: 2 + rng.int(8), nnz: 0 } : { m: small(), n: small(), k: small(), p: small(), nnz: 0 };
  if (huge) {
    const keys = ['m', 'n', 'k', 'p'];
    for (const key of keys) d[key] = 0;
    d[pick(keys)] = pick(HUGE);
  }
  d.nnz = huge ? 0 : rng.int(d.m * d.n + 1);
  const f64 = rng.next() < 0.5;
  const arrays = [];
  let tooBig = false;
  const args = spec.map((kind) => {
    if (!valid && rng.next() < 0.04) return pick(JUNK);
    switch (kind.t) {
      case 'F':
      case 'Fnull': {
        if (kind.t === 'Fnull' && rng.next() < 0.3) return null;
        let len = kind.len(d);
        if (!valid && rng.next() < 0.08) len = Math.max(0, len + pick([-1, 1, 5]));
        if (len > MAX_LEN) { tooBig = true; return null; }
        const wide = kind.f64 ? true : !valid && rng.next() < 0.03 ? !f64 : f64;
        const a = wide ? new Float64Array(len) : new Float32Array(len);
        const special = !valid && rng.next() < 0.15;
        for (let i = 0; i < len; i++) a[i] = special && rng.next() < 0.2 ? pick([NaN, Infinity, -Infinity, 0, 1e38, -1e-40]) : rng.normal();
        if (!valid && arrays.length && rng.next() < 0.05) return pick(arrays); // aliasing
        arrays.push(a);
        return a;
      }
      case 'I':
      case 'Inull': {
        if (kind.t === 'Inull' && rng.next() < 0.5) return null;
        let len = kind.len(d);
        if (!valid && rng.next() < 0.08) len = Math.max(0, len + pick([-1, 1]));
        if (len > MAX_LEN) { tooBig = true; return null; }
        const a = new Int32Array(len);
        if (kind.t === 'I' && kind.csr && (valid || rng.next() < 0.8)) {
          for (let i = 1; i < len; i++) a[i] = i === len - 1 ? d.nnz : Math.min(d.nnz, a[i - 1] + rng.int(3));
        } else if (kind.t === 'Inull') {
          // a permutation of [0, nnz) (or, when not valid, anything)
          for (let i = 0; i < len; i++) a[i] = i;
          for (let i = len - 1; i > 0; i--) { const j = rng.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; }
          if (!valid && rng.next() < 0.1 && len) a[rng.int(len)] = pick([-1, len, 2 ** 31 - 1]);
        } else {
          const hi = d.n;
          for (let i = 0; i < len; i++) a[i] = !valid && rng.next() < 0.05 ? pick([-1, 2 ** 31 - 1, hi]) : rng.int(Math.max(hi, 1));
        }
        return a;
      }
      case 'dim':
        return !valid && rng.next() < 0.05 ? pick([-1, 1.5, NaN, 2 ** 31, 2 ** 31 - 1, 1e15]) : d[kind.name];
      case 'bool':
        return rng.next() < 0.5;
      case 'num':
        return !valid && rng.next() < 0.05 ? pick([NaN, Infinity]) : rng.normal();
      case 'word':
        return !valid && rng.next() < 0.05 ? pick([-1, 2 ** 32, 0.5]) : rng.int(2 ** 32);
      case 'str':
        return !valid && rng.next() < 0.1 ? pick(['', 'nuc', 'FRO']) : pick(kind.options);
      case 'int':
        return !valid && rng.next() < 0.05 ? pick([-1, 1.5, NaN, 2 ** 53, 1e9]) : kind.v(d);
      case 'threads':
        return !valid && rng.next() < 0.05 ? pick([0, -1, 2.5, 2000]) : 1 + rng.int(3);
      case 'millis':
        return !valid && rng.next() < 0.1 ? pick([-1, NaN, 1e9]) : 1 + rng.int(3);
    }
  });
  if (tooBig) return null;
  if (!valid && rng.next() < 0.03) return args.slice(0, rng.int(args.length));
  if (!valid && rng.next() < 0.02) return [...args, 1];
  return args;
}

const isView = (a) => ArrayBuffer.isView(a) && !(a instanceof DataView);
const cloneArgs = (args) => args.map((a) => (isView(a) ? a.slice() : a));
const bytesOf = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  const x = bytesOf(a), y = bytesOf(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
/** A copy of `a` as a view at a random offset inside a larger buffer filled with a sentinel byte. */
function offsetCopy(rng, a) {
  const C = a.constructor, pad = 1 + rng.int(5);
  const buf = new ArrayBuffer((a.length + 2 * pad) * C.BYTES_PER_ELEMENT);
  new Uint8Array(buf).fill(0xa5);
  const v = new C(buf, pad * C.BYTES_PER_ELEMENT, a.length);
  v.set(a);
  return v;
}
function sentinelsIntact(v) {
  const all = new Uint8Array(v.buffer);
  for (let i = 0; i < v.byteOffset; i++) if (all[i] !== 0xa5) return false;
  for (let i = v.byteOffset + v.byteLength; i < all.length; i++) if (all[i] !== 0xa5) return false;
  return true;
}
function detach(a) {
  structuredClone(a.buffer, { transfer: [a.buffer] });
}

const violations = [];
let ran = 0, checked = 0;
function violation(name, what, args) {
  if (violations.length < 20)
    violations.push(`${name}: ${what} [${args.map((a) => (isView(a) ? `${a.constructor.name}(${a.length}${a.byteOffset ? `@${a.byteOffset}` : ''})` : typeof a === 'function' ? 'fn' : String(a))).join(', ')}]`);
}

/** Calls name(...args): { kind: 'sync' | 'resolved' | 'rejected', error?, value? }. */
async function call(name, args, after) {
  const t0 = Date.now();
  try {
    return await call1(name, args, after);
  } finally {
    if (process.env.FUZZ_SLOW && Date.now() - t0 > 300) process.stderr.write(`slow ${Date.now() - t0} ms: ${name}(${args.map((a) => (isView(a) ? `${a.constructor.name}(${a.length})` : String(a))).join(', ')})\n`);
  }
}
async function call1(name, args, after) {
  let ret;
  try {
    ret = addon[name](...args);
  } catch (error) {
    return { kind: 'sync', error };
  }
  if (after) after();
  if (name === 'info' || name === 'own' || name === 'lineOffset') return { kind: 'resolved', value: ret };
  if (!(ret instanceof Promise)) return { kind: 'bad', value: ret };
  try {
    return { kind: 'resolved', value: await ret };
  } catch (error) {
    return { kind: 'rejected', error };
  }
}

/** The error contract: TypeError/RangeError naming the function. */
function contractError(name, r, args) {
  if (r.kind === 'bad') return violation(name, `returned ${String(r.value)} instead of a Promise`, args);
  if (r.kind !== 'sync' && r.kind !== 'rejected') return;
  const e = r.error;
  if (!(e instanceof TypeError || e instanceof RangeError)) return violation(name, `${r.kind} ${e?.constructor?.name}: ${e?.message}`, args);
  if (!String(e.message).includes(name)) violation(name, `message does not name the function: ${e.message}`, args);
}

const names = JSON.parse(process.argv[2]);
const seed = Number(process.argv[3]);
const calls = Number(process.argv[4]);
const VARIANTS = ['plain', 'plain', 'plain', 'offset', 'offset', 'shared', 'resizable', 'detached', 'during', 'during', 'huge'];

for (const name of names) {
  const spec = SPECS[name];
  if (typeof addon[name] !== 'function') {
    violations.push(`${name}: not exported`);
    continue;
  }
  const rng = makeRng(seed * 1009 + name.length * 131 + name.charCodeAt(0) * 7 + name.charCodeAt(name.length - 1));
  for (let iter = 0; iter < calls; iter++) {
    const variant = VARIANTS[rng.int(VARIANTS.length)];
    const valid = variant !== 'plain' && variant !== 'huge';
    const args = makeArgs(rng, spec, { valid, huge: variant === 'huge', big: variant === 'during' && rng.next() < 0.5 });
    if (!args) continue;
    const views = args.map((a, i) => (isView(a) ? i : -1)).filter((i) => i >= 0);
    ran++;
    if (variant === 'plain' || variant === 'huge' || views.length === 0) {
      contractError(name, await call(name, args), args);
      continue;
    }
    // reference: the same call on plain, private copies
    const refArgs = cloneArgs(args);
    const ref = await call(name, refArgs);
    contractError(name, ref, refArgs);
    const victim = views[rng.int(views.length)];
    const a = args[victim];
    if (variant === 'offset') {
      const off = args.map((x) => (isView(x) ? offsetCopy(rng, x) : x));
      const r = await call(name, off);
      contractError(name, r, off);
      if (r.kind !== ref.kind && !(r.kind !== 'resolved' && ref.kind !== 'resolved'))
        violation(name, `offset views: ${r.kind} (${r.error?.message ?? ''}) but plain arrays: ${ref.kind} (${ref.error?.message ?? ''})`, off);
      else if (r.kind === 'resolved') {
        checked++;
        for (const i of views) {
          if (!sameBytes(off[i], refArgs[i])) violation(name, `offset views: argument ${i} differs from the plain call`, off);
          if (!sentinelsIntact(off[i])) violation(name, `offset views: bytes around argument ${i} were written`, off);
        }
        // lineOffset reports the address itself: an offset view moves it, so only its range is checked
        if (name === 'lineOffset') {
          if (!(Number.isInteger(r.value) && r.value >= 0 && r.value < 64)) violation(name, `offset views: value ${r.value} is not an integer in 0..63`, off);
        } else if (typeof r.value === 'number' && !Object.is(r.value, ref.value)) violation(name, `offset views: value ${r.value} vs ${ref.value}`, off);
      }
    } else if (variant === 'shared' || variant === 'resizable') {
      const C = a.constructor;
      const buf = variant === 'shared' ? new SharedArrayBuffer(a.byteLength) : new ArrayBuffer(a.byteLength, { maxByteLength: a.byteLength * 2 + 8 });
      const v = new C(buf);
      v.set(a);
      const bad = args.slice();
      bad[victim] = v;
      const r = await call(name, bad);
      if (r.kind !== 'sync' || !(r.error instanceof TypeError) || !String(r.error.message).includes(name))
        violation(name, `${variant} buffer: expected a synchronous TypeError naming the function, got ${r.kind} ${r.error?.constructor?.name ?? ''}: ${r.error?.message ?? ''}`, bad);
      else checked++;
    } else if (variant === 'detached') {
      detach(a);
      const r = await call(name, args);
      if (r.kind !== 'sync' || !(r.error instanceof TypeError) || !String(r.error.message).includes(name) || !/detached/.test(r.error.message))
        violation(name, `detached array: expected a synchronous TypeError naming the function, got ${r.kind} ${r.error?.constructor?.name ?? ''}: ${r.error?.message ?? ''}`, args);
      else checked++;
    } else if (variant === 'during') {
      // after the call returns: detach one array (and let it be collected), scribble over the others
      const r = await call(name, args, () => {
        detach(a);
        for (const i of views) if (i !== victim && args[i].length) args[i].fill(args[i] instanceof Int32Array ? -7 : NaN);
        globalThis.gc?.();
      });
      contractError(name, r, args);
      if (r.kind === 'rejected' && !(r.error instanceof TypeError && /detached/.test(r.error.message)) && ref.kind === 'resolved')
        violation(name, `detached during the call: rejected with ${r.error?.message}, but the call itself is valid`, args);
      if (r.kind === 'resolved') checked++;
    }
  }
}
process.stdout.write(JSON.stringify({ ran, checked, violations }) + '\n');
