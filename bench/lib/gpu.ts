/**
 * `navigator.gpu` for the peers (gpu.js, tfjs-backend-webgpu), from the same `webgpu` package (Dawn)
 * and the same Dawn flags as lowrank (LOWRANK_DAWN_FLAGS), so every GPU figure runs on one adapter.
 */
import { dawnFlagsFromEnv } from '../../ts/backends/webgpu/device.js';
import type { PeerMeta } from './peer.js';

let cached: Promise<GPU> | undefined;

export function dawnFlags(): string[] {
  return dawnFlagsFromEnv();
}

/** Installs globalThis.navigator.gpu (and the WebGPU globals such as GPUBufferUsage) once. */
export function ensureNavigatorGpu(): Promise<GPU> {
  cached ??= (async () => {
    const mod = (await import('webgpu')) as unknown as { create(f: string[]): GPU; globals: Record<string, unknown> };
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
    }
    const gpu = mod.create(dawnFlags());
    const g = globalThis as unknown as { navigator?: Record<string, unknown> };
    if (g.navigator && typeof g.navigator === 'object') {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    } else {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    }
    return gpu;
  })();
  return cached;
}

/** Adapter facts in lowrank's format. */
export function adapterOf(info: Partial<GPUAdapterInfo> | undefined): PeerMeta['adapter'] {
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

/** True for software adapters (lavapipe / llvmpipe / SwiftShader): shaders run on the CPU. */
export function isSoftwareAdapter(a: PeerMeta['adapter'] | undefined): boolean {
  if (!a) return false;
  const s = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software/.test(s);
}

export function adapterLabel(a: PeerMeta['adapter'] | undefined): string {
  if (!a) return 'unknown';
  return a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown';
}
