// Block operations on row-major f32 matrices: strided block copy / update (slice, hstack, vstack, and
// the factorizations' block moves: transposed, one triangle, alpha src + beta dst), row or column
// scaling by a vector (into a new matrix, or in place), the per-column largest-magnitude entry
// (partials merged on the host) and the per-row smallest entry (row_argmin).
// Each entry point has its own bindings (same binding numbers, distinct names).
// Linear index = (wg.x + wg.y * nwg.x) * 256 + local index (the runtime folds large grids into 2-D).

//!include "linear.wgsl"

// ---- block: dst[d_off + r * ldd + c] = alpha * op(src)[r][c] + beta * dst[...] ---------------------
// op(src)[r][c] = src[s_off + r * lds + c], or src[s_off + c * lds + r] when trans = 1.
// uplo = 1 touches only c <= r of the block, uplo = 2 only c >= r; other entries are left as they are.
// beta = 0 does not read dst (stale NaN in a recycled buffer cannot leak).

struct BlockParams {
  rows: u32, cols: u32, s_off: u32, lds: u32, d_off: u32, ldd: u32, trans: u32, uplo: u32,
  alpha: f32, beta: f32,
}

@group(0) @binding(0) var<uniform> PB: BlockParams;
@group(0) @binding(1) var<storage, read> b_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> b_dst: array<f32>;

@compute @workgroup_size(256)
fn block(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let e = lin(wg, nwg, li);
  if (e >= PB.rows * PB.cols) {
    return;
  }
  let r = e / PB.cols;
  let c = e - r * PB.cols;
  if ((PB.uplo == 1u && c > r) || (PB.uplo == 2u && c < r)) {
    return;
  }
  var v: f32;
  if (PB.trans != 0u) {
    v = b_src[PB.s_off + c * PB.lds + r];
  } else {
    v = b_src[PB.s_off + r * PB.lds + c];
  }
  let d = PB.d_off + r * PB.ldd + c;
  if (PB.beta == 0.0) {
    if (PB.alpha == 1.0) {
      b_dst[d] = v; // a plain copy (slice, concat) moves the bits unchanged
    } else {
      b_dst[d] = PB.alpha * v;
    }
  } else {
    b_dst[d] = PB.alpha * v + PB.beta * b_dst[d];
  }
}

// ---- scale_axis: out[r][c] = x[r][c] * s[c] (by_rows = 0) or x[r][c] * s[r] (by_rows = 1) --------------

struct ScaleParams { rows: u32, cols: u32, by_rows: u32 }

@group(0) @binding(0) var<uniform> PS: ScaleParams;
@group(0) @binding(1) var<storage, read> s_x: array<f32>;
@group(0) @binding(2) var<storage, read> s_s: array<f32>;
@group(0) @binding(3) var<storage, read_write> s_out: array<f32>;

@compute @workgroup_size(256)
fn scale_axis(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let e = lin(wg, nwg, li);
  if (e >= PS.rows * PS.cols) {
    return;
  }
  s_out[e] = s_x[e] * s_s[axis_index(e)];
}

// The entry of s that scales element e: its row (by_rows = 1) or its column.
fn axis_index(e: u32) -> u32 {
  let r = e / PS.cols;
  if (PS.by_rows != 0u) {
    return r;
  }
  return e - r * PS.cols;
}

// In place (the factorizations' svd_flip and lstsq scaling): x[r][c] *= s[c] or s[r].
@group(0) @binding(1) var<storage, read> si_s: array<f32>;
@group(0) @binding(2) var<storage, read_write> si_x: array<f32>;

@compute @workgroup_size(256)
fn scale_axis_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) li: u32) {
  let e = lin(wg, nwg, li);
  if (e >= PS.rows * PS.cols) {
    return;
  }
  si_x[e] = si_x[e] * si_s[axis_index(e)];
}

// ---- col_absmax: per (row chunk, column) the row of the largest |x| and that entry ------------------
// Search key (shared with wgsl/lu.wgsl and native/block.cc): |x| (as its bit pattern + 1), NaN -> 0,
// compared as u32, then the smaller row index; "no entry" is key 0 with row 0xffffffff, so NaN beats
// only "no entry". A workgroup is 16 columns x 16 row lanes; workgroup w takes column tile
// w mod tiles_c and row chunk w / tiles_c (rows [chunk * chunk_rows, ...)).
// partial[chunk * cols + c] = (row, bits of the entry); row 0xffffffff when the chunk is empty.

struct AbsMaxParams { rows: u32, cols: u32, chunk_rows: u32, tiles_c: u32, chunks: u32 }

@group(0) @binding(0) var<uniform> PA: AbsMaxParams;
@group(0) @binding(1) var<storage, read> a_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> a_part: array<vec2<u32>>;

var<workgroup> a_key: array<u32, 256>;
var<workgroup> a_row: array<u32, 256>;

fn abs_key(v: f32) -> u32 {
  let b = bitcast<u32>(v) & 0x7fffffffu;
  return select(b + 1u, 0u, b > 0x7f800000u);
}

fn key_better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(16, 16)
fn col_absmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wg.x + wg.y * nwg.x;
  let tile = w % PA.tiles_c;
  let chunk = w / PA.tiles_c;
  let live = chunk < PA.chunks;
  let c = tile * 16u + lid.x;
  let slot = lid.y * 16u + lid.x;
  var bk = 0u;
  var bi = 0xffffffffu;
  if (live && c < PA.cols) {
    let r0 = chunk * PA.chunk_rows;
    let r1 = min(PA.rows, r0 + PA.chunk_rows);
    for (var r = r0 + lid.y; r < r1; r = r + 16u) {
      let k = abs_key(a_x[r * PA.cols + c]);
      if (key_better(k, r, bk, bi)) {
        bk = k;
        bi = r;
      }
    }
  }
  a_key[slot] = bk;
  a_row[slot] = bi;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s >> 1u) {
    if (lid.y < s) {
      let o = slot + s * 16u;
      if (key_better(a_key[o], a_row[o], a_key[slot], a_row[slot])) {
        a_key[slot] = a_key[o];
        a_row[slot] = a_row[o];
      }
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && live && c < PA.cols) {
    let i = a_row[lid.x];
    var bits = 0u;
    if (i != 0xffffffffu) {
      bits = bitcast<u32>(a_x[i * PA.cols + c]);
    }
    a_part[chunk * PA.cols + c] = vec2<u32>(i, bits);
  }
}

// ---- row_argmin: per row the column of the smallest entry and that entry ------------------------------
// Search key (ascending with the value): the f32 bits mapped to an order-preserving u32 (-0 as +0),
// NaN -> 0 so that a NaN beats every number (the engine reports it as an error); then the smaller
// column. "No entry" is key 0xffffffff with column 0xffffffff (+Inf's key is below it). One workgroup
// of 64 lanes per row (row = wg.x + wg.y * nwg.x); lanes stride over the columns, then a tree merge.
// out[row] = (column, bits of the entry).

struct ArgminParams { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> PM: ArgminParams;
@group(0) @binding(1) var<storage, read> m_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> m_out: array<vec2<u32>>;

var<workgroup> m_key: array<u32, 64>;
var<workgroup> m_col: array<u32, 64>;

fn min_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) {
    return 0u;
  }
  if (b == 0x80000000u) {
    b = 0u;
  }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn min_better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka < kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(64)
fn row_argmin(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * nwg.x;
  let live = row < PM.rows;
  var bk = 0xffffffffu;
  var bi = 0xffffffffu;
  if (live) {
    let base = row * PM.cols;
    for (var c = li; c < PM.cols; c = c + 64u) {
      let k = min_key(m_x[base + c]);
      if (min_better(k, c, bk, bi)) {
        bk = k;
        bi = c;
      }
    }
  }
  m_key[li] = bk;
  m_col[li] = bi;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s = s >> 1u) {
    if (li < s) {
      let o = li + s;
      if (min_better(m_key[o], m_col[o], m_key[li], m_col[li])) {
        m_key[li] = m_key[o];
        m_col[li] = m_col[o];
      }
    }
    workgroupBarrier();
  }
  if (li == 0u && live) {
    let i = m_col[0];
    var bits = 0x7fc00000u;
    if (i != 0xffffffffu) {
      bits = bitcast<u32>(m_x[row * PM.cols + i]);
    }
    m_out[row] = vec2<u32>(i, bits);
  }
}
