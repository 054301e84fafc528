/** `lowrank info`: which backends are available here, and what they run on. */
import os from 'node:os';
import { engine } from '../engine.js';
import { softwareAdapterReason } from '../backends/webgpu/device.js';
import { addonPath } from '../paths.js';
import type { EngineInfo } from '../types.js';
import { fmtBytes, packageVersion, type Command, type Context } from './context.js';

type Probe =
  | ({ available: true } & Omit<EngineInfo, 'backend' | 'dtype' | 'memory'> & { dtypes: string[] })
  | { available: false; reason: string }
  | { available: null; reason: string };

async function probe(backend: 'native' | 'webgpu', threads: number | undefined): Promise<Probe> {
  try {
    const eng = await engine({ backend, dtype: 'f32', threads });
    try {
      const { backend: _b, dtype: _d, memory: _m, ...rest } = eng.info();
      return { available: true, ...rest, dtypes: backend === 'native' ? ['f32', 'f64'] : ['f32'] };
    } finally {
      await eng.dispose();
    }
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

export const command: Command = {
  name: 'info',
  summary: 'show which backends are available (adapter, threads, ISA/GEMM kernel, limits)',
  description:
    'Probes the native addon and a WebGPU device and reports what each runs on, or why it is unavailable. ' +
    'With --backend native|webgpu only that backend is probed. Exits with 1 when no backend is available.',
  flags: [],
  examples: ['lowrank info', 'lowrank info --json', 'lowrank info --backend webgpu'],
  async run(ctx: Context) {
    const want = ctx.backend;
    const skipped = (): Probe => ({ available: null, reason: `not probed (--backend ${want})` });
    const native = want === 'webgpu' ? skipped() : await probe('native', ctx.threads);
    const webgpu = want === 'native' ? skipped() : await probe('webgpu', ctx.threads);
    // What 'auto' resolves to for the requested dtype (mirrors engine()).
    const software = webgpu.available && webgpu.adapter ? softwareAdapterReason({ info: webgpu.adapter }) : undefined;
    const auto = ctx.dtype === 'f32' && webgpu.available && !software ? 'webgpu' : native.available ? 'native' : null;
    const autoReason = auto === 'native' && ctx.dtype === 'f32' && software ? `${software}; native is faster on the same CPU` : undefined;
    const report = {
      version: packageVersion(),
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.availableParallelism(),
      addon: addonPath(),
      env: Object.fromEntries(
        ['LOWRANK_THREADS', 'LOWRANK_NATIVE_ADDON'].filter((k) => ctx.io.env[k] !== undefined).map((k) => [k, ctx.io.env[k]]),
      ),
      native,
      webgpu,
      auto: want === 'auto' ? { dtype: ctx.dtype, backend: auto, ...(autoReason ? { reason: autoReason } : {}) } : undefined,
    };
    const ok = native.available === true || webgpu.available === true;
    if (ctx.json) {
      ctx.report(report);
      return ok ? 0 : 1;
    }

    ctx.out(`lowrank ${report.version} (node ${report.node}, ${report.platform} ${report.arch}, ${report.cpus} hardware threads)`);
    for (const [k, v] of Object.entries(report.env)) ctx.out(`  ${k}=${v}`);
    ctx.out('');
    const show = (name: string, p: Probe) => {
      if (p.available === null) {
        ctx.out(`${name.padEnd(8)}${p.reason}`);
        return;
      }
      if (!p.available) {
        ctx.out(`${name.padEnd(8)}UNAVAILABLE`);
        ctx.out(`        reason: ${p.reason}`);
        return;
      }
      ctx.out(`${name.padEnd(8)}available (dtypes ${p.dtypes.join(', ')})`);
      ctx.out(`        threads:     ${p.threads}${name === 'webgpu' ? ' (host-side small factorizations)' : ''}`);
      if (p.isa !== undefined) ctx.out(`        ISA:         ${p.isa}`);
      if (p.gemmKernel !== undefined) ctx.out(`        GEMM kernel: ${p.gemmKernel}`);
      if (name === 'native') ctx.out(`        addon:       ${report.addon}`);
      if (p.adapter) {
        const a = p.adapter;
        ctx.out(`        adapter:     ${a.description || a.device || '(no description)'}`);
        ctx.out(`                     vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}`);
      }
      if (p.limits) {
        const l = p.limits;
        ctx.out('        limits:');
        ctx.out(
          `          maxStorageBufferBindingSize       ${l.maxStorageBufferBindingSize} (${fmtBytes(l.maxStorageBufferBindingSize)})`,
        );
        ctx.out(`          maxBufferSize                     ${l.maxBufferSize} (${fmtBytes(l.maxBufferSize)})`);
        ctx.out(
          `          maxComputeWorkgroupStorageSize    ${l.maxComputeWorkgroupStorageSize} (${fmtBytes(l.maxComputeWorkgroupStorageSize)})`,
        );
        ctx.out(`          maxComputeInvocationsPerWorkgroup ${l.maxComputeInvocationsPerWorkgroup}`);
        ctx.out(`          maxComputeWorkgroupsPerDimension  ${l.maxComputeWorkgroupsPerDimension}`);
      }
    };
    show('native', native);
    show('webgpu', webgpu);
    if (report.auto) ctx.out(`\nauto    -> ${auto ?? 'nothing available'} (for dtype ${ctx.dtype}${autoReason ? `: ${autoReason}` : ''})`);
    return ok ? 0 : 1;
  },
};
