// Small dense helpers for the factorization kernels: diagonal shift, per-column or per-row sign of the
// largest-magnitude entry (sklearn svd_flip) and a transposing gather. (The strided block copy / update
// and the in-place column / row scaling are in block.wgsl.) Each entry point has its own bindings (same binding numbers, distinct names).
// Linear element index = (wg.x + wg.y * nwg.x) * 256 + local index (the runtime folds large grids).

//!include "linear.wgsl"

// ---- add_diag: x[off + i * (ld + 1)] += alpha for i < count ----------------------------------------

struct DiagParams { count: u32, off: u32, ld: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> PD: DiagParams;
@group(0) @binding(1) var<storage, read_write> d_x: array<f32>;

@compute @workgroup_size(256)
fn add_diag(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i < PD.count) {
    let at = PD.off + i * (PD.ld + 1u);
    d_x[at] = d_x[at] + PD.alpha;
  }
}

// ---- sign of the largest-|.| entry of each column (col_sign) or row (row_sign) ----------------------
// One workgroup per column / row; ties go to the smallest index; a zero vector gets +1.

struct SignParams { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> PS: SignParams;
@group(0) @binding(1) var<storage, read> s_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> s_out: array<f32>;

var<workgroup> s_best: array<f32, 256>;
var<workgroup> s_idx: array<u32, 256>;

fn better(a: f32, ia: u32, b: f32, ib: u32) -> bool {
  return a > b || (a == b && ia < ib);
}

// Reduces the candidates of the workgroup; returns the winning index to every invocation.
fn sign_tree(li: u32) {
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s && better(s_best[li + s], s_idx[li + s], s_best[li], s_idx[li])) {
      s_best[li] = s_best[li + s];
      s_idx[li] = s_idx[li + s];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn col_sign(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let k = wg.x + wg.y * nwg.x;
  let live = k < PS.cols;
  var best = -1.0;
  var bi = 0xffffffffu;
  if (live) {
    for (var i = li; i < PS.rows; i = i + 256u) {
      let a = abs(s_x[i * PS.cols + k]);
      if (better(a, i, best, bi)) {
        best = a;
        bi = i;
      }
    }
  }
  s_best[li] = best;
  s_idx[li] = bi;
  workgroupBarrier();
  sign_tree(li);
  if (li == 0u && live) {
    var sg = 1.0;
    if (s_idx[0] < PS.rows && s_x[s_idx[0] * PS.cols + k] < 0.0) {
      sg = -1.0;
    }
    s_out[k] = sg;
  }
}

@compute @workgroup_size(256)
fn row_sign(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  let live = r < PS.rows;
  var best = -1.0;
  var bi = 0xffffffffu;
  if (live) {
    for (var j = li; j < PS.cols; j = j + 256u) {
      let a = abs(s_x[r * PS.cols + j]);
      if (better(a, j, best, bi)) {
        best = a;
        bi = j;
      }
    }
  }
  s_best[li] = best;
  s_idx[li] = bi;
  workgroupBarrier();
  sign_tree(li);
  if (li == 0u && live) {
    var sg = 1.0;
    if (s_idx[0] < PS.cols && s_x[r * PS.cols + s_idx[0]] < 0.0) {
      sg = -1.0;
    }
    s_out[r] = sg;
  }
}

// ---- gather_t: out[i * K + k] = f[k] * src[perm[k] * lds + i] for i < rows, k < K -------------------
// Turns selected rows of a transposed store (rows = vectors) into the columns of a row-major result.

struct GatherParams { rows: u32, kcols: u32, lds: u32, tiles_k: u32 }

@group(0) @binding(0) var<uniform> PG: GatherParams;
@group(0) @binding(1) var<storage, read> g_src: array<f32>;
@group(0) @binding(2) var<storage, read> g_perm: array<u32>;
@group(0) @binding(3) var<storage, read> g_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> g_out: array<f32>;

var<workgroup> g_tile: array<array<f32, 17>, 16>;

// 16 x 16 tiles through workgroup memory so that both the reads (along src rows) and the writes
// (along out rows) are contiguous. Linear tile index (folded grid): tile = ti * tiles_k + tk.
@compute @workgroup_size(16, 16)
fn gather_t(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = wg.x + wg.y * nwg.x;
  let tk = tile % PG.tiles_k;
  let ti = tile / PG.tiles_k;
  // read: tile column lid.y = output column k, tile row lid.x = i
  let k_rd = tk * 16u + lid.y;
  let i_rd = ti * 16u + lid.x;
  var v = 0.0;
  if (k_rd < PG.kcols && i_rd < PG.rows) {
    v = g_f[k_rd] * g_src[g_perm[k_rd] * PG.lds + i_rd];
  }
  g_tile[lid.y][lid.x] = v;
  workgroupBarrier();
  let k = tk * 16u + lid.x;
  let i = ti * 16u + lid.y;
  if (k < PG.kcols && i < PG.rows) {
    g_out[i * PG.kcols + k] = g_tile[lid.x][lid.y];
  }
}
