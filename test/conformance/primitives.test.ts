/**
 * The "add a primitive" checklist (top of ts/backend.ts) as a test: every row of PRIMITIVES names a
 * Backend method that both backend classes define, engine methods that exist, and files that exist;
 * every method the backends share is either a listed primitive or plumbing; a primitive whose engine
 * method is its stem has the same name on the Engine. Native files are checked for rows that list them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKEND_PLUMBING, PRIMITIVES } from '../../ts/backend.js';
import { loadAddon } from '../../ts/backends/native/addon.js';
import { NativeBackend } from '../../ts/backends/native/index.js';
import { WebGPUBackend } from '../../ts/backends/webgpu/index.js';
import { Engine } from '../../ts/engine.js';
import { packageRoot, wgslDir } from '../../ts/paths.js';

const methods = (proto: object): Set<string> =>
  new Set(
    Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof (proto as Record<string, unknown>)[n] === 'function'),
  );

const kernelsDir = path.join(packageRoot, 'ts', 'backends', 'webgpu', 'kernels');
const nativeDir = path.join(packageRoot, 'native');

describe('primitive checklist (ts/backend.ts PRIMITIVES)', () => {
  const native = methods(NativeBackend.prototype),
    webgpu = methods(WebGPUBackend.prototype),
    engine = methods(Engine.prototype);

  it('every primitive is a method of both backend classes', () => {
    const missing = PRIMITIVES.flatMap((p) => [
      ...(native.has(p.method) ? [] : [`NativeBackend.${p.method}`]),
      ...(webgpu.has(p.method) ? [] : [`WebGPUBackend.${p.method}`]),
    ]);
    expect(missing).toEqual([]);
  });

  it('every method the backends share is a listed primitive or plumbing', () => {
    const listed = new Set<string>([...PRIMITIVES.map((p) => p.method), ...BACKEND_PLUMBING]);
    const shared = [...native].filter((m) => webgpu.has(m) && !m.startsWith('_'));
    expect(shared.filter((m) => !listed.has(m))).toEqual([]);
    expect(new Set(PRIMITIVES.map((p) => p.method)).size).toBe(PRIMITIVES.length);
  });

  it('the engine has each primitive under its stem (or the listed engine methods)', () => {
    const missing = PRIMITIVES.flatMap((p) =>
      (p.engine ?? [p.method]).filter((m) => !engine.has(m)).map((m) => `Engine.${m} (${p.method})`),
    );
    expect(missing).toEqual([]);
  });

  it('every listed wgsl/, kernels/ and native/ file exists; a file named after another stem is a family file', () => {
    const missing = PRIMITIVES.flatMap((p) => [
      ...p.wgsl.filter((f) => !existsSync(path.join(wgslDir, f))).map((f) => `wgsl/${f} (${p.method})`),
      ...p.kernels.filter((f) => !existsSync(path.join(kernelsDir, f))).map((f) => `kernels/${f} (${p.method})`),
      ...(p.native ?? []).filter((f) => !existsSync(path.join(nativeDir, f))).map((f) => `native/${f} (${p.method})`),
    ]);
    expect(missing).toEqual([]);
    // A primitive without a family has its own stem's files: wgsl/<stem>.wgsl and kernels/<stem>.ts
    // (kernels may be shared by a documented family such as ssm.ts).
    const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z]+)/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);
    const own = PRIMITIVES.filter((p) => !p.family).flatMap((p) =>
      p.wgsl.includes(`${snake(p.method)}.wgsl`) ? [] : [`${p.method}: wgsl/${snake(p.method)}.wgsl`],
    );
    expect(own).toEqual([]);
  });

  it('every primitive with native files names them, and one with a file of its own stem has an addon export of that name', () => {
    const noNative = PRIMITIVES.filter((p) => p.method !== 'fill' && !p.native?.length).map((p) => p.method);
    expect(noNative).toEqual([]);
    const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z]+)/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);
    const addon = loadAddon() as unknown as Record<string, unknown>;
    const missing = PRIMITIVES.filter(
      (p) => (p.native ?? []).includes(`${snake(p.method)}.cc`) && typeof addon[p.method] !== 'function',
    ).map((p) => p.method);
    expect(missing).toEqual([]);
  });
});
