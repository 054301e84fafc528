// Blocked right-looking Cholesky pieces on a working copy W (n x n row-major, lower triangle used):
//   potrf: the bs x bs diagonal block at (k0, k0) factored by one workgroup in workgroup memory;
//   panel: rows r0 .. r0 + count of the block column, L_ik = W_ik L_kk^-T (one invocation per row).
// The trailing update is a GEMM done by the caller. A pivot that is not positive and finite records
// its 1-based column in flag[0] (first failure wins: dispatches run in order).

const NB: u32 = 32u;

struct Params { n: u32, k0: u32, bs: u32, r0: u32, count: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;

var<workgroup> Ls: array<array<f32, 33>, 32>;

@compute @workgroup_size(256)
fn potrf(@builtin(local_invocation_index) li: u32) {
  let bs = P.bs;
  let k0 = P.k0;
  for (var e = li; e < bs * bs; e = e + 256u) {
    let r = e / bs;
    let c = e - r * bs;
    if (c <= r) {
      Ls[r][c] = W[(k0 + r) * P.n + k0 + c];
    }
  }
  workgroupBarrier();
  for (var j = 0u; j < bs; j = j + 1u) {
    if (li == 0u) {
      let d = Ls[j][j];
      if (!(d > 0.0) || !(d <= 3.4028234e38)) {
        if (flag[0] == 0u) {
          flag[0] = k0 + j + 1u;
        }
      }
      Ls[j][j] = sqrt(d);
    }
    workgroupBarrier();
    let piv = Ls[j][j];
    for (var r = j + 1u + li; r < bs; r = r + 256u) {
      Ls[r][j] = Ls[r][j] / piv;
    }
    workgroupBarrier();
    // trailing part of the block: Ls[r][c] -= Ls[r][j] Ls[c][j] for j < c <= r < bs
    let t = bs - j - 1u;
    for (var e = li; e < t * t; e = e + 256u) {
      let r = j + 1u + e / t;
      let c = j + 1u + e % t;
      if (c <= r) {
        Ls[r][c] = Ls[r][c] - Ls[r][j] * Ls[c][j];
      }
    }
    workgroupBarrier();
  }
  for (var e = li; e < bs * bs; e = e + 256u) {
    let r = e / bs;
    let c = e - r * bs;
    if (c <= r) {
      W[(k0 + r) * P.n + k0 + c] = Ls[r][c];
    }
  }
}

@compute @workgroup_size(64)
fn panel(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let bs = P.bs;
  let k0 = P.k0;
  for (var e = li; e < bs * bs; e = e + 64u) {
    let r = e / bs;
    let c = e - r * bs;
    if (c <= r) {
      Ls[r][c] = W[(k0 + r) * P.n + k0 + c];
    }
  }
  workgroupBarrier();
  let w = (wg.x + wg.y * nwg.x) * 64u + li;
  if (w >= P.count) {
    return;
  }
  let row = (P.r0 + w) * P.n + k0;
  var x: array<f32, NB>;
  for (var c = 0u; c < bs; c = c + 1u) {
    var s = W[row + c];
    for (var p = 0u; p < c; p = p + 1u) {
      s = s - x[p] * Ls[c][p];
    }
    x[c] = s / Ls[c][c];
    W[row + c] = x[c];
  }
}
