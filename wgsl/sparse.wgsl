// SpMM: C (rows x p) = S B for S in CSR, or for S^T by reading the CSC of S as the CSR of S^T with the
// values gathered through perm (values are stored once, in CSR order). No atomics: every output element
// is written by exactly one invocation (or one workgroup, after a tree reduction).
//
// Two kernels share the bindings and write disjoint rows:
//   spmm_rc / spmm_rc4  one invocation per (row, output column) or per (row, 4 output columns);
//                       rows longer than P.long_len are skipped (left to spmm_long);
//   spmm_long           one workgroup per row listed in long_rows (rows longer than P.long_len),
//                       its entries split over the workgroup, partial sums reduced in workgroup memory.
// Indices were validated on the host (non-negative, in range), so they are read as u32.

override PERM: bool = false;
// spmm_long: TX invocations across output columns, 256 / TX across the row's entries.
override TX: u32 = 16u;
override TY: u32 = 256u / TX;

// rows: rows of C; pw: row length of B and C in elements of the kernel's type (p, or p / 4 for *_rc4);
// long_len: longest row handled by spmm_rc*; nlong: length of long_rows.
struct Params { rows: u32, pw: u32, long_len: u32, nlong: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ptr: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<f32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;
@group(0) @binding(5) var<storage, read> B: array<f32>;
@group(0) @binding(6) var<storage, read_write> C: array<f32>;
@group(0) @binding(7) var<storage, read> long_rows: array<u32>;
// The same buffers seen as vec4 (p % 4 == 0); only spmm_rc4 uses these.
@group(0) @binding(5) var<storage, read> B4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> C4: array<vec4<f32>>;

fn value(q: u32) -> f32 {
  if (PERM) {
    return vals[perm[q]];
  }
  return vals[q];
}

// Workgroup index of a linear grid folded into (x, y).
fn linear_wg(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

@compute @workgroup_size(256)
fn spmm_rc(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let t = linear_wg(wg, nwg) * 256u + li;
  let r = t / P.pw;
  let j = t - r * P.pw;
  if (r >= P.rows) {
    return;
  }
  let b = ptr[r];
  let e = ptr[r + 1u];
  if (e - b > P.long_len) {
    return;
  }
  var acc = 0.0;
  for (var q = b; q < e; q = q + 1u) {
    acc = acc + value(q) * B[idx[q] * P.pw + j];
  }
  C[t] = acc;
}

@compute @workgroup_size(256)
fn spmm_rc4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let t = linear_wg(wg, nwg) * 256u + li;
  let r = t / P.pw;
  let j = t - r * P.pw;
  if (r >= P.rows) {
    return;
  }
  let b = ptr[r];
  let e = ptr[r + 1u];
  if (e - b > P.long_len) {
    return;
  }
  var acc = vec4<f32>(0.0);
  for (var q = b; q < e; q = q + 1u) {
    acc = acc + value(q) * B4[idx[q] * P.pw + j];
  }
  C4[t] = acc;
}

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn spmm_long(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let slot = linear_wg(wg, nwg);
  if (slot >= P.nlong) {
    return; // uniform: the whole workgroup leaves
  }
  let r = long_rows[slot];
  let b = ptr[r];
  let e = ptr[r + 1u];
  let tx = li % TX;
  let ty = li / TX;
  for (var j0 = 0u; j0 < P.pw; j0 = j0 + TX) {
    let j = j0 + tx;
    var acc = 0.0;
    if (j < P.pw) {
      for (var q = b + ty; q < e; q = q + TY) {
        acc = acc + value(q) * B[idx[q] * P.pw + j];
      }
    }
    red[li] = acc;
    workgroupBarrier();
    for (var s = TY / 2u; s > 0u; s = s / 2u) {
      if (ty < s) {
        red[li] = red[li] + red[li + s * TX];
      }
      workgroupBarrier();
    }
    if (ty == 0u && j < P.pw) {
      C[r * P.pw + j] = red[tx];
    }
    workgroupBarrier(); // red is reused by the next column block
  }
}
