/**
 * A shader program is a typed descriptor (in the style of onnxruntime's ProgramInfo): which WGSL file
 * and entry point, the storage bindings it uses, the layout of its uniform struct, and the values of
 * its `override` constants. Shapes always travel in uniforms, so one compiled pipeline serves every
 * size; only the constants are part of the pipeline cache key.
 *
 * Binding convention for every lowrank shader:
 *   @group(0) @binding(0)  var<uniform> P: Params   (when `uniforms` is non-empty)
 *   @group(0) @binding(i)  storage buffers, i = 1..bindings.length, in the order of `bindings`
 */

export type StorageAccess = 'read' | 'rw';

/** One 4-byte field of the uniform struct, in declaration order. */
export type UniformField = readonly [name: string, type: 'u32' | 'i32' | 'f32'];

export interface ProgramDesc {
  /** Label used for the pipeline and in error messages. */
  readonly name: string;
  /** File under `wgsl/`. */
  readonly file: string;
  /** Entry point (a `@compute` function). */
  readonly entry: string;
  /** Access mode of storage bindings 1..N. */
  readonly bindings: readonly StorageAccess[];
  /** Fields of the uniform struct at binding 0 (4 bytes each, packed in order). */
  readonly uniforms: readonly UniformField[];
  /**
   * The entry point's `@workgroup_size` (x[, y[, z]]), as written in the WGSL: a number, or the name of
   * the `const` / `override` that sets it (its value then comes from `constants` or the WGSL default).
   */
  readonly workgroupSize: readonly (number | string)[];
  /** Values of the shader's `override` constants (booleans as 0/1). Part of the cache key. */
  readonly constants?: Readonly<Record<string, number>>;
}

/**
 * Workgroups for one invocation per element: ceil(n / threads), threads = the product of the program's
 * numeric workgroup size (the WGSL literal mirrored in programs.ts), so a dispatch site never repeats it.
 */
export function grid(desc: ProgramDesc, n: number): number {
  let threads = 1;
  for (const d of desc.workgroupSize) {
    if (typeof d !== 'number') throw new Error(`internal: grid() needs a literal workgroup size ('${desc.name}' uses ${d})`);
    threads *= d;
  }
  return Math.ceil(n / threads);
}

/** The same program with (more) override constants set. */
export function specialize(desc: ProgramDesc, constants: Record<string, number>): ProgramDesc {
  return { ...desc, constants: { ...(desc.constants ?? {}), ...constants } };
}

export function cacheKey(desc: ProgramDesc): string {
  const c = desc.constants ? Object.entries(desc.constants).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  return `${desc.file}:${desc.entry}:${c.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

/** Packs uniform values (by field name) into `view` at byte offset `off`. */
export function packUniforms(desc: ProgramDesc, values: Record<string, number>, view: DataView, off: number): void {
  desc.uniforms.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`internal: program '${desc.name}' is missing uniform '${name}'`);
    const at = off + 4 * i;
    if (type === 'f32') view.setFloat32(at, v, true);
    else if (type === 'i32') view.setInt32(at, v, true);
    else {
      if (v < 0 || v > 0xffffffff || !Number.isInteger(v))
        throw new Error(`internal: uniform '${name}' of '${desc.name}' = ${v} is not a u32`);
      view.setUint32(at, v, true);
    }
  });
}

/** The bind group layout of a program: the uniform buffer at 0 (when it has uniforms), storage at 1..N. */
export function layoutEntries(desc: ProgramDesc): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  if (desc.uniforms.length > 0) entries.push({ binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform' } });
  desc.bindings.forEach((acc, i) => {
    entries.push({ binding: i + 1, visibility: 4, buffer: { type: acc === 'read' ? 'read-only-storage' : 'storage' } });
  });
  return entries;
}
