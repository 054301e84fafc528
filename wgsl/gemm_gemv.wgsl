// Matrix-vector products (GEMM with n == 1 or m == 1); see kernels/gemm.ts.
//
// y(i) = alpha sum_p M(i, p) x(p) + beta y(i) for i < rows, p in the slice [z kChunk, min(k, (z + 1) kChunk)),
// with M(i, p) = M[offM + i * rs + p * cs], x(p) = X[offX + p * xs], y(i) = Y[offY + z * zStride + i * ys].
// The host maps op(A) op(B) onto this (n == 1: M = op(A), x = op(B); m == 1: M = op(B)^T,
// x = op(A)^T), and writes split-K slices to a scratch buffer that gemm_reduce.wgsl sums.
//
// Two thread mappings, chosen by the host from M's layout:
//   rowdot: M's rows are contiguous (cs = 1). A workgroup of 32 x 8 invocations takes 8 rows; the 32
//           lanes of a row stride along p (coalesced), then a shared-memory tree sums the lanes.
//   cols:   M's columns are contiguous (rs = 1). One invocation per output, looping over p; adjacent
//           invocations read adjacent elements of each column (coalesced), x(p) is a broadcast.
// Workgroups are numbered linearly (wg.x + wg.y * nwg.x) so the host can fold large grids.

struct Params {
  rows: u32, k: u32,
  rs: u32, cs: u32, xs: u32, ys: u32,
  offM: u32, offX: u32, offY: u32,
  kChunk: u32, zStride: u32,
  alpha: f32, beta: f32,
}

// Read y and add beta y (never read when false).
override BETA: bool = false;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> M: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

var<workgroup> red: array<array<f32, 33>, 8>;

fn put(i: u32, z: u32, s: f32) {
  let at = P.offY + z * P.zStride + i * P.ys;
  var o = P.alpha * s;
  if (BETA) {
    o = o + P.beta * Y[at];
  }
  Y[at] = o;
}

@compute @workgroup_size(32, 8)
fn rowdot(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.x + wg.y * nwg.x) * 8u + lid.y;
  let kBegin = wg.z * P.kChunk;
  let kEnd = min(P.k, kBegin + P.kChunk);
  let row = P.offM + min(i, P.rows - 1u) * P.rs;
  var s0 = 0.0;
  var s1 = 0.0;
  var p = kBegin + lid.x;
  for (; p + 32u < kEnd; p = p + 64u) {
    s0 = fma(M[row + p], X[P.offX + p * P.xs], s0);
    s1 = fma(M[row + p + 32u], X[P.offX + (p + 32u) * P.xs], s1);
  }
  if (p < kEnd) {
    s0 = fma(M[row + p], X[P.offX + p * P.xs], s0);
  }
  red[lid.y][lid.x] = s0 + s1;
  workgroupBarrier();
  for (var w = 16u; w > 0u; w = w >> 1u) {
    if (lid.x < w) {
      red[lid.y][lid.x] = red[lid.y][lid.x] + red[lid.y][lid.x + w];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && i < P.rows) {
    put(i, wg.z, red[lid.y][0]);
  }
}

@compute @workgroup_size(256)
fn cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  let kBegin = wg.z * P.kChunk;
  let kEnd = min(P.k, kBegin + P.kChunk);
  let base = P.offM + min(i, P.rows - 1u) * P.rs;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var p = kBegin;
  for (; p + 4u <= kEnd; p = p + 4u) {
    s0 = fma(M[base + p * P.cs], X[P.offX + p * P.xs], s0);
    s1 = fma(M[base + (p + 1u) * P.cs], X[P.offX + (p + 1u) * P.xs], s1);
    s2 = fma(M[base + (p + 2u) * P.cs], X[P.offX + (p + 2u) * P.xs], s2);
    s3 = fma(M[base + (p + 3u) * P.cs], X[P.offX + (p + 3u) * P.xs], s3);
  }
  for (; p < kEnd; p = p + 1u) {
    s0 = fma(M[base + p * P.cs], X[P.offX + p * P.xs], s0);
  }
  if (i < P.rows) {
    put(i, wg.z, (s0 + s1) + (s2 + s3));
  }
}
