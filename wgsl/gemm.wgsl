// C (m x n) = alpha * op(A) * op(B). Simple 16 x 16 shared-memory tiling (reference kernel).
// Row strides: A is stored m x k (lda = k) or, with TRANS_A, k x m (lda = m); likewise B.

struct Params { m: u32, n: u32, k: u32, lda: u32, ldb: u32, alpha: f32 }

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;

fn a_at(i: u32, p: u32) -> f32 {
  if (TRANS_A) {
    return A[p * P.lda + i];
  }
  return A[i * P.lda + p];
}

fn b_at(p: u32, j: u32) -> f32 {
  if (TRANS_B) {
    return B[j * P.ldb + p];
  }
  return B[p * P.ldb + j];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * 16u + lid.y;
  let col = wg.x * 16u + lid.x;
  var acc = 0.0;
  let tiles = (P.k + 15u) / 16u;
  for (var t = 0u; t < tiles; t = t + 1u) {
    let ak = t * 16u + lid.x;
    let bk = t * 16u + lid.y;
    As[lid.y][lid.x] = select(0.0, a_at(row, ak), row < P.m && ak < P.k);
    Bs[lid.y][lid.x] = select(0.0, b_at(bk, col), bk < P.k && col < P.n);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk = kk + 1u) {
      acc = acc + As[lid.y][kk] * Bs[kk][lid.x];
    }
    workgroupBarrier();
  }
  if (row < P.m && col < P.n) {
    C[row * P.n + col] = P.alpha * acc;
  }
}
