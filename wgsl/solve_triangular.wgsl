// Diagonal-block solve of a blocked triangular solve op(T) X = B (T n x n, X n x nrhs, row-major, X
// overwritten in place). The effective matrix M = op(T) is lower (forward substitution) when
// FORWARD = 1 and upper otherwise; TRANS = 1 reads M[r][p] = T[p][r]. Each workgroup loads the
// bs x bs block at (r0, r0) into workgroup memory, and every invocation solves one right-hand side.
// Off-diagonal blocks are applied by the caller with GEMM. An exactly zero diagonal entry sets flag[0]
// to its 1-based index (the smallest one).

const NB: u32 = 32u;

override FORWARD: bool = true;
override TRANS: bool = false;

struct Params { n: u32, nrhs: u32, r0: u32, bs: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read_write> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> flag: array<u32>;

var<workgroup> Ms: array<array<f32, 33>, 32>;

fn m_at(r: u32, p: u32) -> f32 {
  if (TRANS) {
    return T[(P.r0 + p) * P.n + P.r0 + r];
  }
  return T[(P.r0 + r) * P.n + P.r0 + p];
}

@compute @workgroup_size(64)
fn diag(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let bs = P.bs;
  for (var e = li; e < bs * bs; e = e + 64u) {
    let r = e / bs;
    let p = e - r * bs;
    if ((FORWARD && p <= r) || (!FORWARD && p >= r)) {
      Ms[r][p] = m_at(r, p);
    }
  }
  workgroupBarrier();
  let wid = wg.x + wg.y * nwg.x;
  if (wid == 0u && li == 0u) {
    // Smallest 1-based index of an exactly zero diagonal entry (dispatches run in order).
    for (var r = 0u; r < bs; r = r + 1u) {
      let at = P.r0 + r + 1u;
      if (Ms[r][r] == 0.0 && (flag[0] == 0u || at < flag[0])) {
        flag[0] = at;
      }
    }
  }
  let c = wid * 64u + li;
  if (c >= P.nrhs) {
    return;
  }
  var x: array<f32, NB>;
  if (FORWARD) {
    for (var r = 0u; r < bs; r = r + 1u) {
      var s = X[(P.r0 + r) * P.nrhs + c];
      for (var p = 0u; p < r; p = p + 1u) {
        s = s - Ms[r][p] * x[p];
      }
      x[r] = s / Ms[r][r];
      X[(P.r0 + r) * P.nrhs + c] = x[r];
    }
  } else {
    for (var rr = 0u; rr < bs; rr = rr + 1u) {
      let r = bs - 1u - rr;
      var s = X[(P.r0 + r) * P.nrhs + c];
      for (var p = r + 1u; p < bs; p = p + 1u) {
        s = s - Ms[r][p] * x[p];
      }
      x[r] = s / Ms[r][r];
      X[(P.r0 + r) * P.nrhs + c] = x[r];
    }
  }
}
