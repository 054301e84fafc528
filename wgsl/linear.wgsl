// Linear invocation index of a 256-wide 1-D workgroup in a folded grid: the host folds a large
// workgroup count into (x, y) (GpuContext.grid), so index = (wg.x + wg.y * nwg.x) * 256 + local index.
// Included by the shaders that use it (//!include "linear.wgsl"); programs.ts gives them workgroup 256.

fn lin(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + li;
}
