/**
 * The WebGPU runtime: pooled buffers, cached pipelines, batched dispatch and explicit readback.
 *
 * Every dispatch is encoded into one shared command encoder (one compute pass across consecutive
 * dispatches) and submitted every `SUBMIT_EVERY` dispatches or when something must be read back, so
 * chained operations never wait on the GPU. The only device-to-host transfers are `read()` calls.
 *
 * Ordering argument for reuse: all work goes through one queue, and buffers return to the pool only
 * after the commands that use them were encoded; anything encoded later executes later, so a pooled
 * buffer can be handed out again at once. Uniform data is staged per batch and written with
 * `queue.writeBuffer` immediately before that batch's submit, which the queue orders after the
 * previous batch.
 */
import type { DeviceBundle } from './device.js';
import { cacheKey, layoutEntries, packUniforms, type ProgramDesc } from './program.js';
import { loadWgsl } from './wgsl.js';

/** A dense store: a pooled buffer holding `bytes` of data (the buffer may be larger). */
export interface GpuStore {
  buffer: GPUBuffer;
  bytes: number;
}

export type Binding = GPUBuffer | GpuStore | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchArgs {
  /** Storage bindings 1..N in the order of the program's `bindings`. */
  bindings: readonly Binding[];
  /** Uniform values by field name. */
  uniforms?: Record<string, number>;
  /**
   * Workgroup counts [x, y, z], or a single linear count that the runtime folds into x * y <= limits
   * (shaders then use `wg.x + wg.y * nwg.x` from the `num_workgroups` builtin and bound-check it).
   */
  workgroups: number | readonly [number, number?, number?];
}

const SUBMIT_EVERY = 32;
const UNIFORM_SLOT = 256;
const UNIFORM_CHUNK = 64 * 1024;
/** Pool at most this many bytes of free storage buffers; beyond, freed buffers are destroyed. */
const POOL_CAP_BYTES = 512 * 1024 * 1024;

/** Buffer capacity bucket for a request: quarter-power-of-two steps, multiples of 256 bytes. */
export function bucketSize(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

interface UniformChunk {
  buffer: GPUBuffer;
  mirror: ArrayBuffer;
  view: DataView;
  used: number;
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly queue: GPUQueue;
  readonly bundle: DeviceBundle;
  readonly limits: GPUSupportedLimits;
  private readonly usage: DeviceBundle['usage'];

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private readonly staging = new Map<number, GPUBuffer[]>();
  private uniformChunks: UniformChunk[] = [];
  private uniformIdx = 0;
  private error: Error | null = null;
  private lostReason: string | null = null;
  /** Counters for tests and benchmarks. */
  readonly stats = { dispatches: 0, submits: 0, readbacks: 0, readbackBytes: 0, buffersCreated: 0 };

  constructor(bundle: DeviceBundle) {
    this.bundle = bundle;
    this.device = bundle.device;
    this.queue = bundle.device.queue;
    this.limits = bundle.device.limits;
    this.usage = bundle.usage;
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      if (!this.error) this.error = new Error(`WebGPU error: ${ev.error.message}`);
    };
    void this.device.lost.then((info) => {
      this.lostReason = info.message || String(info.reason);
    });
  }

  // ---- buffers ----------------------------------------------------------------------------------

  /** A storage buffer of at least `bytes` (contents undefined). */
  alloc(bytes: number): GpuStore {
    this.check();
    const need = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (need > this.limits.maxStorageBufferBindingSize)
      throw new RangeError(
        `WebGPU: a buffer of ${need} bytes exceeds this device's maxStorageBufferBindingSize (${this.limits.maxStorageBufferBindingSize})`,
      );
    const cap = Math.min(bucketSize(need), Math.max(need, this.limits.maxStorageBufferBindingSize));
    const list = this.free.get(cap);
    const buf = list?.pop();
    if (buf) {
      this.freeBytes -= cap;
      return { buffer: buf, bytes: need };
    }
    this.stats.buffersCreated++;
    const buffer = this.device.createBuffer({
      size: cap,
      usage: this.usage.STORAGE | this.usage.COPY_SRC | this.usage.COPY_DST,
      label: `lowrank:${cap}`,
    });
    return { buffer, bytes: need };
  }

  /** A storage buffer initialised from host data (written at creation, no queue round trip). */
  upload(data: ArrayBufferView, bytes = data.byteLength): GpuStore {
    const s = this.alloc(bytes);
    // queue.writeBuffer runs on the queue timeline at once, i.e. before commands that are encoded but
    // not yet submitted; those may still read this (recycled) buffer, so submit them first.
    if (this.encoder) this.flush();
    if (data.byteLength > 0) this.queue.writeBuffer(s.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return s;
  }

  /** A zero-filled storage buffer. */
  zeros(bytes: number): GpuStore {
    const s = this.alloc(bytes);
    this.endPass();
    this.enc().clearBuffer(s.buffer, 0, s.bytes);
    return s;
  }

  /** Returns a store's buffer to the pool. */
  release(s: GpuStore): void {
    const cap = s.buffer.size;
    if (this.freeBytes + cap > POOL_CAP_BYTES || this.lostReason) {
      // Destroying is safe only once queued work is done; let the GC-side destroy happen via pool overflow.
      this.flush();
      const buf = s.buffer;
      void this.queue.onSubmittedWorkDone().then(() => buf.destroy());
      return;
    }
    let list = this.free.get(cap);
    if (!list) this.free.set(cap, (list = []));
    list.push(s.buffer);
    this.freeBytes += cap;
  }

  // ---- pipelines ---------------------------------------------------------------------------------

  private pipelineFor(desc: ProgramDesc): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const key = cacheKey(desc);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    let module = this.modules.get(desc.file);
    if (!module) {
      module = this.device.createShaderModule({ code: loadWgsl(desc.file), label: desc.file });
      this.modules.set(desc.file, module);
    }
    const layout = this.device.createBindGroupLayout({ entries: layoutEntries(desc), label: desc.name });
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: desc.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: desc.entry, constants: desc.constants as Record<string, number> | undefined },
    });
    void this.device.popErrorScope().then((err) => {
      if (err && !this.error) this.error = new Error(`WebGPU: pipeline '${desc.name}' (${key}) failed: ${err.message}`);
    });
    const rec = { pipeline, layout };
    this.pipelines.set(key, rec);
    return rec;
  }

  // ---- dispatch ----------------------------------------------------------------------------------

  /** Encodes one dispatch. Nothing runs until the batch is submitted (automatically, or by a read). */
  dispatch(desc: ProgramDesc, args: DispatchArgs): void {
    this.check();
    const [x, y, z] = this.grid(desc, args.workgroups);
    if (x === 0 || y === 0 || z === 0) return;
    if (args.bindings.length !== desc.bindings.length)
      throw new Error(`internal: program '${desc.name}' takes ${desc.bindings.length} bindings, got ${args.bindings.length}`);
    const { pipeline, layout } = this.pipelineFor(desc);
    const entries: GPUBindGroupEntry[] = [];
    if (desc.uniforms.length > 0) {
      const slot = this.uniformSlot();
      packUniforms(desc, args.uniforms ?? {}, slot.chunk.view, slot.offset);
      entries.push({
        binding: 0,
        resource: { buffer: slot.chunk.buffer, offset: slot.offset, size: Math.max(16, Math.ceil((4 * desc.uniforms.length) / 16) * 16) },
      });
    }
    args.bindings.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: this.resource(b) });
    });
    const bindGroup = this.device.createBindGroup({ layout, entries, label: desc.name });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.pending >= SUBMIT_EVERY) this.flush();
  }

  /** Folds a linear workgroup count into a grid within maxComputeWorkgroupsPerDimension. */
  private grid(desc: ProgramDesc, w: DispatchArgs['workgroups']): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (typeof w === 'number') {
      if (w <= max) return [w, 1, 1];
      const y = Math.ceil(w / max);
      const x = Math.ceil(w / y);
      if (y > max) throw new RangeError(`WebGPU: '${desc.name}' needs ${w} workgroups, more than ${max}^2`);
      return [x, y, 1];
    }
    const [x, y = 1, z = 1] = w;
    if (x > max || y > max || z > max)
      throw new RangeError(`WebGPU: '${desc.name}' needs a ${x} x ${y} x ${z} grid; the device allows ${max} per dimension`);
    return [x, y, z];
  }

  private resource(b: Binding): GPUBufferBinding {
    if ('bytes' in b) return { buffer: b.buffer, offset: 0, size: b.bytes };
    if ('buffer' in b && !('mapState' in b)) return { buffer: b.buffer, offset: b.offset ?? 0, size: b.size };
    return { buffer: b as GPUBuffer };
  }

  /** Copies `bytes` between buffers (ordered with the dispatches around it). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.check();
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    if (++this.pending >= SUBMIT_EVERY) this.flush();
  }

  /** Submits everything encoded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    for (const c of this.uniformChunks) {
      if (c.used > 0) this.queue.writeBuffer(c.buffer, 0, c.mirror, 0, c.used);
      c.used = 0;
    }
    this.uniformIdx = 0;
    this.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.stats.submits++;
  }

  /** Reads `bytes` from a buffer (flushes pending work, then maps a staging copy). */
  async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.ceil(bytes / 4) * 4;
    if (size === 0) return new ArrayBuffer(0);
    const cap = bucketSize(size);
    const staging =
      this.staging.get(cap)?.pop() ??
      this.device.createBuffer({ size: cap, usage: this.usage.MAP_READ | this.usage.COPY_DST, label: 'lowrank:staging' });
    this.endPass();
    this.enc().copyBufferToBuffer(src, offset, staging, 0, size);
    this.flush();
    this.stats.readbacks++;
    this.stats.readbackBytes += size;
    await staging.mapAsync(1 /* GPUMapMode.READ */, 0, size);
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.staging.get(cap);
    if (!list) this.staging.set(cap, (list = []));
    list.push(staging);
    this.check();
    return out;
  }

  /** Waits until the GPU has finished everything submitted (benchmarks). */
  async sync(): Promise<void> {
    this.flush();
    await this.queue.onSubmittedWorkDone();
    this.check();
  }

  destroy(): void {
    try {
      this.flush();
    } catch {
      // device already unusable
    }
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    for (const c of this.uniformChunks) c.buffer.destroy();
    this.free.clear();
    this.staging.clear();
    this.uniformChunks = [];
    this.device.destroy();
  }

  /** Throws the first recorded device error (validation errors surface at the next operation). */
  check(): void {
    if (this.lostReason !== null) throw new Error(`WebGPU device lost: ${this.lostReason}`);
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw e;
    }
  }

  // ---- internals ---------------------------------------------------------------------------------

  private enc(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'lowrank' });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.enc().beginComputePass({ label: 'lowrank' });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniformSlot(): { chunk: UniformChunk; offset: number } {
    for (;;) {
      let c = this.uniformChunks[this.uniformIdx];
      if (!c) {
        const mirror = new ArrayBuffer(UNIFORM_CHUNK);
        c = {
          buffer: this.device.createBuffer({
            size: UNIFORM_CHUNK,
            usage: this.usage.UNIFORM | this.usage.COPY_DST,
            label: 'lowrank:uniforms',
          }),
          mirror,
          view: new DataView(mirror),
          used: 0,
        };
        this.uniformChunks.push(c);
      }
      if (c.used + UNIFORM_SLOT <= UNIFORM_CHUNK) {
        const offset = c.used;
        c.used += UNIFORM_SLOT;
        return { chunk: c, offset };
      }
      this.uniformIdx++;
    }
  }
}
