// Fused Adam moment update (engine.adamStep), element-wise over flat arrays of n entries:
//   M = beta1 m + (1 - beta1) g, V = beta2 v + (1 - beta2) g^2, N = corr M / (sqrt(V) + eps),
// corr = sqrt(1 - beta2^t) / (1 - beta1^t) computed on the host in f64 (the bias correction, with eps
// added to sqrt(V) before it, as the GaLore reference does). omb1 = 1 - beta1 and omb2 = 1 - beta2 also
// come from the host in f64: 1 - f32(0.999) is off by 1.3e-5 relative.

struct AdamParams { n: u32, beta1: f32, beta2: f32, omb1: f32, omb2: f32, eps: f32, corr: f32 }

@group(0) @binding(0) var<uniform> PA: AdamParams;
@group(0) @binding(1) var<storage, read> a_m: array<f32>;
@group(0) @binding(2) var<storage, read> a_v: array<f32>;
@group(0) @binding(3) var<storage, read> a_g: array<f32>;
@group(0) @binding(4) var<storage, read_write> a_mo: array<f32>;
@group(0) @binding(5) var<storage, read_write> a_vo: array<f32>;
@group(0) @binding(6) var<storage, read_write> a_no: array<f32>;

//!include "linear.wgsl"

@compute @workgroup_size(256)
fn adam_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i >= PA.n) {
    return;
  }
  let g = a_g[i];
  let m = PA.beta1 * a_m[i] + PA.omb1 * g;
  let v = PA.beta2 * a_v[i] + PA.omb2 * (g * g);
  a_mo[i] = m;
  a_vo[i] = v;
  a_no[i] = PA.corr * m / (sqrt(v) + PA.eps);
}
