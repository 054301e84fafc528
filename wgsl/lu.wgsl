// LU with partial pivoting of a tall m x n row-major matrix (m >= n) on the device, in scipy's
// permute_l form A = PL U, without row swaps (kernels/lu.ts drives it). W starts as a copy of A and
// ends as PL. step[i] = 0 while row i is unpivoted, s + 1 once it is the pivot of column s.
// info[2 s] = pivot row of column s, info[2 s + 1] = bits of the pivot value d_s. Nothing is read back.
//
// Per column j:  lu_search (scales the multipliers of column j - 1, partial argmax of column j per
//                workgroup)  ->  lu_pick (one workgroup: merges the partials, records the pivot)
//                ->  lu_update (W[i][c] -= (W[i][j] / d_j) W[p][c], unpivoted i, c > j).
// Then lu_upper (U from the pivot rows) and lu_finish (last column's multipliers, unit diagonal and
// zeros in the pivot rows). A zero pivot leaves the multipliers as they are (zero), as getrf does.
// Pivot order (as native/lu.cc): larger |x|, then the smaller row; NaN loses to every number.

struct Params { m: u32, n: u32, j: u32, chunk: u32, groups: u32 }

@group(0) @binding(0) var<uniform> P: Params;

fn abs_key(v: f32) -> u32 {
  let b = bitcast<u32>(v) & 0x7fffffffu;
  return select(b + 1u, 0u, b > 0x7f800000u);
}

fn key_better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

var<workgroup> red_key: array<u32, 256>;
var<workgroup> red_row: array<u32, 256>;

// Tree reduction of (red_key, red_row) over the workgroup; the winner ends in slot 0.
fn reduce_best(li: u32) {
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s && key_better(red_key[li + s], red_row[li + s], red_key[li], red_row[li])) {
      red_key[li] = red_key[li + s];
      red_row[li] = red_row[li + s];
    }
    workgroupBarrier();
  }
}

// Multiplier of row i for column j from the unscaled entry x: x / d_j, or x itself when d_j = 0.
fn multiplier(x: f32, d: f32) -> f32 {
  return select(x, x / d, d != 0.0);
}

// ---- lu_search: workgroup g takes rows [g chunk, (g + 1) chunk) ------------------------------------

@group(0) @binding(1) var<storage, read_write> se_w: array<f32>;
@group(0) @binding(2) var<storage, read> se_step: array<u32>;
@group(0) @binding(3) var<storage, read> se_info: array<u32>;
@group(0) @binding(4) var<storage, read_write> se_part: array<vec2<u32>>;

@compute @workgroup_size(256)
fn lu_search(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x;
  let n = P.n;
  let j = P.j;
  var d_prev = 0.0;
  if (j > 0u) {
    d_prev = bitcast<f32>(se_info[2u * (j - 1u) + 1u]);
  }
  var bk = 0u;
  var bi = 0xffffffffu;
  let r0 = g * P.chunk;
  let r1 = min(P.m, r0 + P.chunk);
  for (var i = r0 + li; i < r1; i = i + 256u) {
    if (se_step[i] != 0u) {
      continue;
    }
    let row = i * n;
    if (j > 0u) {
      se_w[row + j - 1u] = multiplier(se_w[row + j - 1u], d_prev);
    }
    let k = abs_key(se_w[row + j]);
    if (key_better(k, i, bk, bi)) {
      bk = k;
      bi = i;
    }
  }
  red_key[li] = bk;
  red_row[li] = bi;
  reduce_best(li);
  if (li == 0u) {
    se_part[g] = vec2<u32>(red_key[0], red_row[0]);
  }
}

// ---- lu_pick: one workgroup merges the `groups` partials and records the pivot of column j ----------

@group(0) @binding(1) var<storage, read> pk_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> pk_step: array<u32>;
@group(0) @binding(3) var<storage, read_write> pk_info: array<u32>;
@group(0) @binding(4) var<storage, read> pk_part: array<vec2<u32>>;

@compute @workgroup_size(256)
fn lu_pick(@builtin(local_invocation_index) li: u32) {
  var bk = 0u;
  var bi = 0xffffffffu;
  for (var g = li; g < P.groups; g = g + 256u) {
    let q = pk_part[g];
    if (key_better(q.x, q.y, bk, bi)) {
      bk = q.x;
      bi = q.y;
    }
  }
  red_key[li] = bk;
  red_row[li] = bi;
  reduce_best(li);
  if (li == 0u) {
    // m >= n guarantees an unpivoted row; the clamp only keeps indices in range.
    let p = min(red_row[0], P.m - 1u);
    pk_info[2u * P.j] = p;
    pk_info[2u * P.j + 1u] = bitcast<u32>(pk_w[p * P.n + P.j]);
    pk_step[p] = P.j + 1u;
  }
}

// ---- lu_update: W[i][c] -= l_i W[p][c] for unpivoted rows i and c > j ------------------------------
// BY_ROW = false: one invocation per (row, trailing column), for GPUs (neighbouring invocations touch
// neighbouring columns). BY_ROW = true: one invocation per row looping over the trailing columns, for
// CPU adapters (lavapipe), where invocations are SIMD lanes and per-invocation overhead dominates
// (about 3x faster there). Linear index folded by the runtime.

override BY_ROW: bool = false;

@group(0) @binding(1) var<storage, read_write> up_w: array<f32>;
@group(0) @binding(2) var<storage, read> up_step: array<u32>;
@group(0) @binding(3) var<storage, read> up_info: array<u32>;

@compute @workgroup_size(256)
fn lu_update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let e = (wg.x + wg.y * nwg.x) * 256u + li;
  let n = P.n;
  let j = P.j;
  let w = n - j - 1u;
  var i: u32;
  var c0: u32;
  var c1: u32;
  if (BY_ROW) {
    i = e;
    c0 = j + 1u;
    c1 = n;
  } else {
    i = e / w;
    c0 = j + 1u + (e - i * w);
    c1 = c0 + 1u;
  }
  if (i >= P.m) {
    return;
  }
  if (up_step[i] != 0u) {
    return;
  }
  let p = up_info[2u * j];
  let l = multiplier(up_w[i * n + j], bitcast<f32>(up_info[2u * j + 1u]));
  for (var c = c0; c < c1; c = c + 1u) {
    up_w[i * n + c] = up_w[i * n + c] - l * up_w[p * n + c];
  }
}

// ---- lu_upper: U[s][c] = W[p_s][c] for c >= s, else 0 (n x n invocations) --------------------------

@group(0) @binding(1) var<storage, read> u_w: array<f32>;
@group(0) @binding(2) var<storage, read> u_info: array<u32>;
@group(0) @binding(3) var<storage, read_write> u_out: array<f32>;

@compute @workgroup_size(256)
fn lu_upper(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let e = (wg.x + wg.y * nwg.x) * 256u + li;
  let n = P.n;
  if (e >= n * n) {
    return;
  }
  let s = e / n;
  let c = e - s * n;
  var v = 0.0;
  if (c >= s) {
    v = u_w[u_info[2u * s] * n + c];
  }
  u_out[e] = v;
}

// ---- lu_finish: one invocation per row -------------------------------------------------------------
// Unpivoted rows: multiplier of the last column. Pivot row of column t: 1 at t, zeros after.

@group(0) @binding(1) var<storage, read_write> f_w: array<f32>;
@group(0) @binding(2) var<storage, read> f_step: array<u32>;
@group(0) @binding(3) var<storage, read> f_info: array<u32>;

@compute @workgroup_size(256)
fn lu_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= P.m) {
    return;
  }
  let n = P.n;
  let st = f_step[i];
  if (st == 0u) {
    let at = i * n + n - 1u;
    f_w[at] = multiplier(f_w[at], bitcast<f32>(f_info[2u * (n - 1u) + 1u]));
    return;
  }
  let t = st - 1u;
  f_w[i * n + t] = 1.0;
  for (var c = t + 1u; c < n; c = c + 1u) {
    f_w[i * n + c] = 0.0;
  }
}

