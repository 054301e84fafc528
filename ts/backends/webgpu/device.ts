/**
 * Adapter and device acquisition through Dawn's Node binding (npm `webgpu`, an optional dependency).
 * The binding is imported lazily so that the native backend works where it is absent or cannot load.
 */

export interface DeviceBundle {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: { vendor: string; architecture: string; device: string; description: string };
  features: Set<string>;
  usage: { STORAGE: number; COPY_SRC: number; COPY_DST: number; MAP_READ: number; UNIFORM: number };
}

const gpus = new Map<string, GPU>();

/** Dawn flags from LOWRANK_DAWN_FLAGS (whitespace-separated, so values may contain commas). */
export function dawnFlagsFromEnv(): string[] {
  return (process.env.LOWRANK_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

/** Limits lowrank raises to the adapter's maximum (the spec defaults are far below real hardware). */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Thrown when the optional npm package `webgpu` (Dawn's Node binding) is not installed, e.g. after
 * `npm install --omit=optional` or where its install was skipped. Backend 'auto' then runs native.
 */
export class WebGPUPackageMissingError extends Error {
  constructor() {
    super(
      "the optional package 'webgpu' (Dawn's Node binding) is not installed; install it with `npm install webgpu` " +
        'in the project that uses lowrank to enable the WebGPU backend',
    );
    this.name = 'WebGPUPackageMissingError';
  }
}

type WebGPUModule = { create(f: string[]): GPU; globals: Record<string, unknown> };

/** `import('webgpu')`, with a missing package turned into a {@link WebGPUPackageMissingError}. */
async function importWebgpu(): Promise<WebGPUModule> {
  try {
    return (await import('webgpu')) as unknown as WebGPUModule;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    // Only the package itself missing (not a dependency of it, nor a failing native binary).
    if (err.code === 'ERR_MODULE_NOT_FOUND' && /['"]webgpu['"]/.test(err.message ?? '')) throw new WebGPUPackageMissingError();
    throw e;
  }
}

async function getGpu(flags: string[]): Promise<{ gpu: GPU; globals: Record<string, unknown> }> {
  const mod = await importWebgpu();
  const key = flags.join('\u0000');
  let gpu = gpus.get(key);
  if (!gpu) {
    gpu = mod.create(flags);
    gpus.set(key, gpu);
  }
  return { gpu, globals: mod.globals };
}

/** Thrown by {@link acquireDevice} with `rejectSoftware` when the only adapter is a CPU/software one. */
export class SoftwareAdapterError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SoftwareAdapterError';
  }
}

/**
 * Why an adapter is a CPU/software implementation (a string), or undefined for a hardware one. Looks
 * at every hint an implementation may give: `info.isFallbackAdapter` / `adapter.isFallbackAdapter`,
 * Dawn's `info.type` ('cpu'), an architecture 'software', and the names of the software rasterizers
 * (llvmpipe / lavapipe, SwiftShader, WARP / Microsoft Basic Render Driver).
 */
export function softwareAdapterReason(adapter: unknown): string | undefined {
  const a = adapter as { info?: Record<string, unknown>; isFallbackAdapter?: unknown };
  const info = a.info ?? {};
  const name = [info.vendor, info.architecture, info.device, info.description].filter((x) => typeof x === 'string' && x).join(' ');
  const label = name ? ` (${name})` : '';
  if (info.isFallbackAdapter === true || a.isFallbackAdapter === true)
    return `the only WebGPU adapter is a fallback (software) adapter${label}`;
  if (typeof info.type === 'string' && /cpu/i.test(info.type)) return `the only WebGPU adapter is a CPU device${label}`;
  if (typeof info.adapterType === 'string' && /cpu/i.test(info.adapterType)) return `the only WebGPU adapter is a CPU device${label}`;
  if (/llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i.test(name) || info.architecture === 'software')
    return `the only WebGPU adapter is a software rasterizer${label}`;
  return undefined;
}

/**
 * Requests an adapter and a device with raised limits. Throws an Error when none is available.
 * Extra Dawn flags can be given in LOWRANK_DAWN_FLAGS, separated by whitespace (values may contain commas).
 */
export async function acquireDevice(opts: {
  flags?: string[];
  powerPreference?: 'low-power' | 'high-performance';
  rejectSoftware?: boolean;
}): Promise<DeviceBundle> {
  const extra = dawnFlagsFromEnv();
  const { gpu, globals } = await getGpu([...(opts.flags ?? []), ...extra]);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter found');
  if (opts.rejectSoftware) {
    const why = softwareAdapterReason(adapter);
    if (why) throw new SoftwareAdapterError(why);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const features: GPUFeatureName[] = [];
  for (const f of ['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[]) {
    if (adapter.features.has(f)) features.push(f);
  }
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features, label: 'lowrank' });
  const ai = adapter.info;
  const usage = globals.GPUBufferUsage as DeviceBundle['usage'];
  return {
    adapter,
    device,
    info: { vendor: ai.vendor, architecture: ai.architecture, device: ai.device, description: ai.description },
    features: new Set(features as string[]),
    usage,
  };
}
