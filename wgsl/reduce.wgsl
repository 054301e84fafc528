// Norm reductions producing (scale, ssq) partials that the host merges in f64.
//!include "ssq.wgsl"

struct Params { rows: u32, cols: u32, chunk: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec2<f32>>;

var<workgroup> red: array<vec2<f32>, 256>;

fn tree(li: u32) {
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      red[li] = ssq_merge(red[li], red[li + s]);
    }
    workgroupBarrier();
  }
}

// Whole array (rows * cols elements): workgroup w strides over the array; one partial per workgroup.
@compute @workgroup_size(256)
fn total(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let n = P.rows * P.cols;
  let stride = nwg.x * 256u;
  var s = vec2<f32>(0.0, 1.0);
  for (var i = wg.x * 256u + li; i < n; i = i + stride) {
    s = ssq_add(s, x[i]);
  }
  red[li] = s;
  workgroupBarrier();
  tree(li);
  if (li == 0u) {
    partial[wg.x] = red[0];
  }
}

// Column norms: grid (ceil(cols / 256), chunks); thread = column, looping over `chunk` rows.
// partial[chunkIndex * cols + col].
@compute @workgroup_size(256)
fn cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x * 256u + li;
  if (c >= P.cols) {
    return;
  }
  let r0 = wg.y * P.chunk;
  let r1 = min(P.rows, r0 + P.chunk);
  var s = vec2<f32>(0.0, 1.0);
  for (var r = r0; r < r1; r = r + 1u) {
    s = ssq_add(s, x[r * P.cols + c]);
  }
  partial[wg.y * P.cols + c] = s;
}

// Row norms, one workgroup per row (long rows). Linear workgroup index folded in 2-D.
@compute @workgroup_size(256)
fn rows_wide(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  if (r >= P.rows) {
    return; // uniform per workgroup: safe before barriers
  }
  var s = vec2<f32>(0.0, 1.0);
  for (var c = li; c < P.cols; c = c + 256u) {
    s = ssq_add(s, x[r * P.cols + c]);
  }
  red[li] = s;
  workgroupBarrier();
  tree(li);
  if (li == 0u) {
    partial[r] = red[0];
  }
}

// Row norms, one thread per row (short rows).
@compute @workgroup_size(256)
fn rows_narrow(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let r = (wg.x + wg.y * nwg.x) * 256u + li;
  if (r >= P.rows) {
    return;
  }
  var s = vec2<f32>(0.0, 1.0);
  for (var c = 0u; c < P.cols; c = c + 1u) {
    s = ssq_add(s, x[r * P.cols + c]);
  }
  partial[r] = s;
}
