// C = alpha op(A) op(B) + beta C on strided sub-matrices (f32, row-major); see kernels/gemm.ts.
//
// Element (i, p) of op(A) is A[offA + i * lda + p], or A[offA + p * lda + i] with TRANS_A; likewise
// B; C(i, j) is C[offC + z * zStride + i * ldc + j]. Shapes, strides and offsets are uniforms, so one
// pipeline serves every size; only tile shapes and the flags below are override constants.
//
// Split-K: workgroup z handles p in [z * kChunk, min(k, (z + 1) * kChunk)) and writes its partial
// product to slice z (zStride apart); gemm_reduce.wgsl then sums the slices in a fixed order.
//
// Tiling: a workgroup of WG_X x WG_Y invocations computes a (4 TM4) x (4 TN4) tile of C, where
// TM4 = WG_Y * R and TN4 = WG_X * R for the register-block factor R of the entry point (tiled4:
// R = 1, a 4 x 4 block per invocation; tiled8: R = 2, an 8 x 8 block). Per step of BK along k, the
// A panel (4 TM4 x BK) and B panel (BK x 4 TN4) are staged in workgroup memory k-major (one vec4 = 4
// consecutive rows of A or columns of B, rows padded by one vec4), so the inner loop reads R vec4
// of A and R vec4 of B per k and issues 4 R^2 vec4 FMAs. Invocation (tx, ty) owns rows
// 4 ty + (0..3) (+ 4 WG_Y for the second half of an 8 x 8 block) and the same pattern of columns, so
// consecutive invocations read consecutive vec4 (no bank conflicts) and write contiguous runs of C.
//
// Tiles are numbered linearly (row band major); the grid is folded by the host under the 65535
// per-dimension limit and surplus workgroups recompute the last tile without storing it (no early
// return: a uniform exit still costs an execution mask on SIMD-on-CPU drivers).
//
// Staging never branches per element: out-of-range elements are loaded from a clamped address
// inside the matrix and replaced by 0 with select(). Global loads are scalar (vec4 loads of aligned
// operands measured no gain on lavapipe, and scalar loads coalesce on GPUs).

struct Params {
  m: u32, n: u32, k: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32,
  kChunk: u32, zStride: u32,
  tilesN: u32, tiles: u32,
  alpha: f32, beta: f32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// FIT: m, n, k (and kChunk) are multiples of the tile (BM, BN, BK), so all bounds handling is
// compiled out.
override FIT: bool = false;
// The A (B) block lives in C's buffer, outside the C block: it is read through C's binding (the A
// binding then holds a dummy), since WebGPU forbids binding one buffer both read-only and writable.
override A_IN_C: bool = false;
override B_IN_C: bool = false;
// Read C and add beta C (never read when false: output buffers may hold garbage or NaN).
override BETA: bool = false;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
// Tile extent in vec4 units (4 TM4 rows, 4 TN4 columns); the host sets TM4 = R WG_Y, TN4 = R WG_X.
override TM4: u32 = 16u;
override TN4: u32 = 16u;
override BK: u32 = 16u; // multiple of 4

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

// k-major panels: As[kk * (TM4 + 1) + r] = rows 4r..4r+3 of the A panel at k = kk.
var<workgroup> As: array<vec4<f32>, BK * (TM4 + 1u)>;
var<workgroup> Bs: array<vec4<f32>, BK * (TN4 + 1u)>;

fn ld_a(e: u32) -> f32 {
  if (A_IN_C) {
    return C[e];
  }
  return A[e];
}

fn ld_b(e: u32) -> f32 {
  if (B_IN_C) {
    return C[e];
  }
  return B[e];
}

// Four consecutive elements base + q .. base + q + 3 along the contiguous direction of A's storage,
// of which only offsets <= last are valid: the others are clamped to `last` (the caller zeroes
// them), so no address ever leaves the matrix, even without robust buffer access.
fn quad_a(base: u32, q: u32, last: u32) -> vec4<f32> {
  if (FIT) {
    return vec4<f32>(ld_a(base + q), ld_a(base + q + 1u), ld_a(base + q + 2u), ld_a(base + q + 3u));
  }
  return vec4<f32>(ld_a(base + min(q, last)), ld_a(base + min(q + 1u, last)),
                   ld_a(base + min(q + 2u, last)), ld_a(base + min(q + 3u, last)));
}

fn quad_b(base: u32, q: u32, last: u32) -> vec4<f32> {
  if (FIT) {
    return vec4<f32>(ld_b(base + q), ld_b(base + q + 1u), ld_b(base + q + 2u), ld_b(base + q + 3u));
  }
  return vec4<f32>(ld_b(base + min(q, last)), ld_b(base + min(q + 1u, last)),
                   ld_b(base + min(q + 2u, last)), ld_b(base + min(q + 3u, last)));
}

fn quad_mask(q: u32, bound: u32) -> vec4<bool> {
  return vec4<u32>(q, q + 1u, q + 2u, q + 3u) < vec4<u32>(bound);
}

// Stages the A panel: rows row0 .. row0 + 4 TM4, k = k0 .. k0 + BK, with zeros outside the matrix.
// Global reads run along the contiguous direction of A's storage.
fn stage_a(li: u32, row0: u32, k0: u32, kEnd: u32) {
  let SA = TM4 + 1u;
  let T = WG_X * WG_Y;
  if (TRANS_A) {
    // A is stored k x m: unit (kk, r) = rows 4r..4r+3 at one k.
    for (var u = li; u < BK * TM4; u = u + T) {
      let kk = u / TM4;
      let r = u - kk * TM4;
      let i = row0 + 4u * r;
      let p = k0 + kk;
      if (FIT) {
        As[kk * SA + r] = quad_a(P.offA + p * P.lda, i, 0u);
      } else {
        let ok = quad_mask(i, P.m) & vec4<bool>(p < kEnd);
        As[kk * SA + r] = select(vec4<f32>(0.0), quad_a(P.offA + min(p, kEnd - 1u) * P.lda, i, P.m - 1u), ok);
      }
    }
  } else {
    // A is stored m x k: unit (i, q) = four consecutive k of one row, spread over four panel rows.
    let KQ = BK / 4u;
    for (var u = li; u < 4u * TM4 * KQ; u = u + T) {
      let i = u / KQ;
      let q = u - i * KQ;
      let row = row0 + i;
      let p = k0 + 4u * q;
      var v: vec4<f32>;
      if (FIT) {
        v = quad_a(P.offA + row * P.lda, p, 0u);
      } else {
        let ok = quad_mask(p, kEnd) & vec4<bool>(row < P.m);
        v = select(vec4<f32>(0.0), quad_a(P.offA + min(row, P.m - 1u) * P.lda, p, kEnd - 1u), ok);
      }
      let at = 4u * q * SA + (i >> 2u);
      let c = i & 3u;
      As[at][c] = v.x;
      As[at + SA][c] = v.y;
      As[at + 2u * SA][c] = v.z;
      As[at + 3u * SA][c] = v.w;
    }
  }
}

fn stage_b(li: u32, col0: u32, k0: u32, kEnd: u32) {
  let SB = TN4 + 1u;
  let T = WG_X * WG_Y;
  if (TRANS_B) {
    // B is stored n x k: unit (j, q) = four consecutive k of one column of op(B).
    let KQ = BK / 4u;
    for (var u = li; u < 4u * TN4 * KQ; u = u + T) {
      let j = u / KQ;
      let q = u - j * KQ;
      let col = col0 + j;
      let p = k0 + 4u * q;
      var v: vec4<f32>;
      if (FIT) {
        v = quad_b(P.offB + col * P.ldb, p, 0u);
      } else {
        let ok = quad_mask(p, kEnd) & vec4<bool>(col < P.n);
        v = select(vec4<f32>(0.0), quad_b(P.offB + min(col, P.n - 1u) * P.ldb, p, kEnd - 1u), ok);
      }
      let at = 4u * q * SB + (j >> 2u);
      let c = j & 3u;
      Bs[at][c] = v.x;
      Bs[at + SB][c] = v.y;
      Bs[at + 2u * SB][c] = v.z;
      Bs[at + 3u * SB][c] = v.w;
    }
  } else {
    // B is stored k x n: unit (kk, s) = columns 4s..4s+3 at one k.
    for (var u = li; u < BK * TN4; u = u + T) {
      let kk = u / TN4;
      let s = u - kk * TN4;
      let j = col0 + 4u * s;
      let p = k0 + kk;
      if (FIT) {
        Bs[kk * SB + s] = quad_b(P.offB + p * P.ldb, j, 0u);
      } else {
        let ok = quad_mask(j, P.n) & vec4<bool>(p < kEnd);
        Bs[kk * SB + s] = select(vec4<f32>(0.0), quad_b(P.offB + min(p, kEnd - 1u) * P.ldb, j, P.n - 1u), ok);
      }
    }
  }
}

fn put(at: u32, x: f32) {
  var o = P.alpha * x;
  if (BETA) {
    o = o + P.beta * C[at];
  }
  C[at] = o;
}

// C(i, j..j+3) = alpha v + beta C, clipped to the matrix (written out: no loop, no exec mask).
fn store4(ok: bool, i: u32, j: u32, base0: u32, v: vec4<f32>) {
  if (!ok || (!FIT && i >= P.m)) {
    return;
  }
  let at = base0 + i * P.ldc + j;
  if (FIT) {
    put(at, v.x);
    put(at + 1u, v.y);
    put(at + 2u, v.z);
    put(at + 3u, v.w);
    return;
  }
  if (j < P.n) {
    put(at, v.x);
  }
  if (j + 1u < P.n) {
    put(at + 1u, v.y);
  }
  if (j + 2u < P.n) {
    put(at + 2u, v.z);
  }
  if (j + 3u < P.n) {
    put(at + 3u, v.w);
  }
}

struct TileInfo { ok: bool, row0: u32, col0: u32, kBegin: u32, kEnd: u32, base0: u32 }

fn tile_info(wg: vec3<u32>, nwg: vec3<u32>) -> TileInfo {
  let lin = wg.x + wg.y * nwg.x;
  let tile = min(lin, P.tiles - 1u);
  let tm = tile / P.tilesN;
  let tn = tile - tm * P.tilesN;
  let kBegin = wg.z * P.kChunk;
  return TileInfo(lin < P.tiles, tm * 4u * TM4, tn * 4u * TN4, kBegin, min(P.k, kBegin + P.kChunk),
                  P.offC + wg.z * P.zStride);
}

// 4 x 4 register block per invocation.
@compute @workgroup_size(WG_X, WG_Y)
fn tiled4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tile_info(wg, nwg);
  let SA = TM4 + 1u;
  let SB = TN4 + 1u;
  let ty = lid.y;
  let tx = lid.x;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k0 = t.kBegin; k0 < t.kEnd; k0 = k0 + BK) {
    stage_a(li, t.row0, k0, t.kEnd);
    stage_b(li, t.col0, k0, t.kEnd);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk = kk + 2u) {
      var a = As[kk * SA + ty];
      var b = Bs[kk * SB + tx];
      c0 = fma(vec4<f32>(a.x), b, c0);
      c1 = fma(vec4<f32>(a.y), b, c1);
      c2 = fma(vec4<f32>(a.z), b, c2);
      c3 = fma(vec4<f32>(a.w), b, c3);
      a = As[(kk + 1u) * SA + ty];
      b = Bs[(kk + 1u) * SB + tx];
      c0 = fma(vec4<f32>(a.x), b, c0);
      c1 = fma(vec4<f32>(a.y), b, c1);
      c2 = fma(vec4<f32>(a.z), b, c2);
      c3 = fma(vec4<f32>(a.w), b, c3);
    }
    workgroupBarrier();
  }
  let i = t.row0 + 4u * ty;
  let j = t.col0 + 4u * tx;
  store4(t.ok, i, j, t.base0, c0);
  store4(t.ok, i + 1u, j, t.base0, c1);
  store4(t.ok, i + 2u, j, t.base0, c2);
  store4(t.ok, i + 3u, j, t.base0, c3);
}

// 8 x 8 register block per invocation: rows 4ty + (0..3) and 4(ty + WG_Y) + (0..3), columns
// likewise. cRC: R = row within the block, C = column half.
@compute @workgroup_size(WG_X, WG_Y)
fn tiled8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = tile_info(wg, nwg);
  let SA = TM4 + 1u;
  let SB = TN4 + 1u;
  let ty = lid.y;
  let tx = lid.x;
  var c00 = vec4<f32>(0.0);
  var c10 = vec4<f32>(0.0);
  var c20 = vec4<f32>(0.0);
  var c30 = vec4<f32>(0.0);
  var c40 = vec4<f32>(0.0);
  var c50 = vec4<f32>(0.0);
  var c60 = vec4<f32>(0.0);
  var c70 = vec4<f32>(0.0);
  var c01 = vec4<f32>(0.0);
  var c11 = vec4<f32>(0.0);
  var c21 = vec4<f32>(0.0);
  var c31 = vec4<f32>(0.0);
  var c41 = vec4<f32>(0.0);
  var c51 = vec4<f32>(0.0);
  var c61 = vec4<f32>(0.0);
  var c71 = vec4<f32>(0.0);
  for (var k0 = t.kBegin; k0 < t.kEnd; k0 = k0 + BK) {
    stage_a(li, t.row0, k0, t.kEnd);
    stage_b(li, t.col0, k0, t.kEnd);
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      let a0 = As[kk * SA + ty];
      let a1 = As[kk * SA + ty + WG_Y];
      let b0 = Bs[kk * SB + tx];
      let b1 = Bs[kk * SB + tx + WG_X];
      c00 = fma(vec4<f32>(a0.x), b0, c00);
      c10 = fma(vec4<f32>(a0.y), b0, c10);
      c20 = fma(vec4<f32>(a0.z), b0, c20);
      c30 = fma(vec4<f32>(a0.w), b0, c30);
      c40 = fma(vec4<f32>(a1.x), b0, c40);
      c50 = fma(vec4<f32>(a1.y), b0, c50);
      c60 = fma(vec4<f32>(a1.z), b0, c60);
      c70 = fma(vec4<f32>(a1.w), b0, c70);
      c01 = fma(vec4<f32>(a0.x), b1, c01);
      c11 = fma(vec4<f32>(a0.y), b1, c11);
      c21 = fma(vec4<f32>(a0.z), b1, c21);
      c31 = fma(vec4<f32>(a0.w), b1, c31);
      c41 = fma(vec4<f32>(a1.x), b1, c41);
      c51 = fma(vec4<f32>(a1.y), b1, c51);
      c61 = fma(vec4<f32>(a1.z), b1, c61);
      c71 = fma(vec4<f32>(a1.w), b1, c71);
    }
    workgroupBarrier();
  }
  let i0 = t.row0 + 4u * ty;
  let i1 = i0 + 4u * WG_Y;
  let j0 = t.col0 + 4u * tx;
  let j1 = j0 + 4u * WG_X;
  store4(t.ok, i0, j0, t.base0, c00);
  store4(t.ok, i0 + 1u, j0, t.base0, c10);
  store4(t.ok, i0 + 2u, j0, t.base0, c20);
  store4(t.ok, i0 + 3u, j0, t.base0, c30);
  store4(t.ok, i1, j0, t.base0, c40);
  store4(t.ok, i1 + 1u, j0, t.base0, c50);
  store4(t.ok, i1 + 2u, j0, t.base0, c60);
  store4(t.ok, i1 + 3u, j0, t.base0, c70);
  store4(t.ok, i0, j1, t.base0, c01);
  store4(t.ok, i0 + 1u, j1, t.base0, c11);
  store4(t.ok, i0 + 2u, j1, t.base0, c21);
  store4(t.ok, i0 + 3u, j1, t.base0, c31);
  store4(t.ok, i1, j1, t.base0, c41);
  store4(t.ok, i1 + 1u, j1, t.base0, c51);
  store4(t.ok, i1 + 2u, j1, t.base0, c61);
  store4(t.ok, i1 + 3u, j1, t.base0, c71);
}
