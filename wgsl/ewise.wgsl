// Element-wise kernels over flat arrays: out = alpha x + beta y, out = x .* y; and a tiled transpose.
// Linear index = (wg.x + wg.y * nwg.x) * 256 + local index (the runtime folds large grids into 2-D).

struct Params { n: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

//!include "linear.wgsl"

@compute @workgroup_size(256)
fn axpby(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i < P.n) {
    out[i] = P.alpha * x[i] + P.beta * y[i];
  }
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i < P.n) {
    out[i] = P.alpha * x[i];
  }
}

@compute @workgroup_size(256)
fn hadamard(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i < P.n) {
    out[i] = x[i] * y[i];
  }
}
