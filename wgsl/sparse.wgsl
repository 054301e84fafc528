// Sparse kernels on CSR (or CSC read as the CSR of S^T, values gathered through perm).

struct Params { rows: u32, p: u32, k: u32, use_perm: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ptr: array<i32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> perm: array<i32>;
@group(0) @binding(5) var<storage, read> B: array<f32>;
@group(0) @binding(6) var<storage, read_write> C: array<f32>;

// C (rows x p) = S B: thread per output entry, grid (ceil(p / 64), rows).
@compute @workgroup_size(64)
fn spmm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let j = wg.x * 64u + li;
  let r = wg.y + wg.z * nwg.y;
  if (j >= P.p || r >= P.rows) {
    return;
  }
  var acc = 0.0;
  let e = u32(ptr[r + 1u]);
  for (var q = u32(ptr[r]); q < e; q = q + 1u) {
    var v: f32;
    if (P.use_perm != 0u) {
      v = vals[u32(perm[q])];
    } else {
      v = vals[q];
    }
    acc = acc + v * B[u32(idx[q]) * P.p + j];
  }
  C[r * P.p + j] = acc;
}

// out[q] = dot(U[row(q), :], V[col(q), :]) for every CSR entry q; thread per entry.
// Bindings reuse the layout: vals = U, B = V, perm unused (row found by binary search in ptr).
@compute @workgroup_size(256)
fn sddmm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let q = (wg.x + wg.y * nwg.x) * 256u + li;
  let nnz = u32(ptr[P.rows]);
  if (q >= nnz) {
    return;
  }
  var lo = 0u;
  var hi = P.rows; // find r with ptr[r] <= q < ptr[r + 1]
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (u32(ptr[mid]) <= q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  let c = u32(idx[q]);
  var acc = 0.0;
  for (var t = 0u; t < P.k; t = t + 1u) {
    acc = acc + vals[lo * P.k + t] * B[c * P.k + t];
  }
  C[q] = acc;
}
