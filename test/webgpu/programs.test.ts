/**
 * The program table (ts/backends/webgpu/programs.ts) against the WGSL it describes. Each descriptor is
 * written once in TS and mirrors a `@compute` entry point; this test parses every file in wgsl/ and
 * checks, per entry point: the uniform struct it binds at @binding(0) (field names and types, in
 * order), its `@workgroup_size`, and the access mode of every storage binding it uses. Every entry
 * point of every shader must have a descriptor. Then every program is compiled into a pipeline on the
 * device (with the layout the engine uses), so a WGSL error or a layout mismatch fails here.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../ts/backends/webgpu/index.js';
import { grid, layoutEntries, type ProgramDesc } from '../../ts/backends/webgpu/program.js';
import { PROGRAMS } from '../../ts/backends/webgpu/programs.js';
import { loadWgsl } from '../../ts/backends/webgpu/wgsl.js';
import { wgslDir } from '../../ts/paths.js';
import { describeEngines } from '../helpers.js';

interface Shader {
  structs: Map<string, [string, string][]>;
  /** Module-scope resource variables at group 0: name -> binding, uniform struct or storage access. */
  vars: Map<string, { binding: number; uniform?: string; access?: 'read' | 'read_write' }>;
  /** Function name -> body text. */
  fns: Map<string, string>;
  /** Entry point -> workgroup size tokens. */
  entries: Map<string, string[]>;
  /** Names declared by module-scope `const` / `override`. */
  consts: Set<string>;
}

function closing(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return i;
  }
  throw new Error('unbalanced braces');
}

function parseWgsl(text: string): Shader {
  const src = text.replace(/\/\/[^\n]*/g, '');
  const sh: Shader = { structs: new Map(), vars: new Map(), fns: new Map(), entries: new Map(), consts: new Set() };
  for (const m of src.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g))
    sh.structs.set(
      m[1],
      [...m[2].matchAll(/(\w+)\s*:\s*([\w<>, ]+?)\s*(?:,|$)/g)].map((f) => [f[1], f[2].trim()]),
    );
  for (const m of src.matchAll(
    /@group\(0\)\s*@binding\((\d+)\)\s*var<(uniform|storage(?:\s*,\s*(read|read_write))?)>\s*(\w+)\s*:\s*(\w+)/g,
  )) {
    const binding = Number(m[1]);
    sh.vars.set(m[4], m[2] === 'uniform' ? { binding, uniform: m[5] } : { binding, access: (m[3] ?? 'read') as 'read' | 'read_write' });
  }
  for (const m of src.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
    const open = src.indexOf('{', m.index);
    sh.fns.set(m[1], src.slice(open, closing(src, open) + 1));
  }
  for (const m of src.matchAll(/@compute\s+@workgroup_size\(([^)]*)\)\s*fn\s+(\w+)/g))
    sh.entries.set(
      m[2],
      m[1]
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    );
  for (const m of src.matchAll(/^\s*(?:const|override)\s+(\w+)/gm)) sh.consts.add(m[1]);
  return sh;
}

/** The module-scope variables an entry point uses, through the functions it calls. */
function usedVars(sh: Shader, entry: string): Set<string> {
  const seen = new Set<string>(),
    used = new Set<string>();
  const visit = (fn: string): void => {
    if (seen.has(fn)) return;
    seen.add(fn);
    for (const [id] of sh.fns.get(fn)!.matchAll(/\b[A-Za-z_]\w*\b/g)) {
      if (sh.vars.has(id)) used.add(id);
      else if (sh.fns.has(id)) visit(id);
    }
  };
  visit(entry);
  return used;
}

const token = (t: string): number | string => (/^\d+u?$/.test(t) ? parseInt(t, 10) : t);

/** Every mismatch between a descriptor and its shader, as readable lines (empty: they agree). */
function mismatches(desc: ProgramDesc, sh: Shader): string[] {
  const out: string[] = [];
  const at = `${desc.file}:${desc.entry}`;
  const wg = sh.entries.get(desc.entry);
  if (!wg) return [`${at}: no @compute entry point '${desc.entry}'`];
  const want = wg.map(token);
  if (JSON.stringify(want) !== JSON.stringify(desc.workgroupSize))
    out.push(`${at}: @workgroup_size(${wg.join(', ')}) but the descriptor says [${desc.workgroupSize.join(', ')}]`);
  for (const t of want) if (typeof t === 'string' && !sh.consts.has(t)) out.push(`${at}: workgroup size '${t}' is not a const/override`);
  const used = [...usedVars(sh, desc.entry)].map((v) => [v, sh.vars.get(v)!] as const);
  const uniforms = used.filter(([, v]) => v.uniform);
  if (desc.uniforms.length === 0) {
    if (uniforms.length) out.push(`${at}: uses uniform ${uniforms[0][0]} but the descriptor has no uniforms`);
  } else if (uniforms.length !== 1) {
    out.push(`${at}: uses ${uniforms.length} uniform variables (${uniforms.map(([n]) => n).join(', ')}), expected 1`);
  } else {
    const [name, v] = uniforms[0];
    const fields = sh.structs.get(v.uniform!);
    if (v.binding !== 0) out.push(`${at}: uniform ${name} at binding ${v.binding}, expected 0`);
    if (!fields) out.push(`${at}: no struct ${v.uniform}`);
    else {
      const got = fields.map(([n, t]) => `${n}: ${t}`).join(', ');
      const exp = desc.uniforms.map(([n, t]) => `${n}: ${t}`).join(', ');
      if (got !== exp) out.push(`${at}: struct ${v.uniform} { ${got} } but the descriptor has { ${exp} }`);
    }
  }
  for (const [name, v] of used) {
    if (v.uniform) continue;
    const acc = desc.bindings[v.binding - 1];
    if (acc === undefined) out.push(`${at}: ${name} at binding ${v.binding}, beyond the descriptor's ${desc.bindings.length} bindings`);
    else if ((acc === 'read') !== (v.access === 'read'))
      out.push(`${at}: ${name} at binding ${v.binding} is ${v.access} but the descriptor says '${acc}'`);
  }
  return out;
}

const descs: [string, ProgramDesc][] = Object.entries(PROGRAMS);
const files = readdirSync(wgslDir).filter((f) => f.endsWith('.wgsl'));
const parsed = new Map(files.map((f) => [f, parseWgsl(loadWgsl(f))]));

describe('WebGPU program table', () => {
  it('every descriptor matches its WGSL entry point (uniform struct, workgroup size, storage access)', () => {
    const bad = descs.flatMap(([, d]) => (parsed.has(d.file) ? mismatches(d, parsed.get(d.file)!) : [`${d.file}: no such file in wgsl/`]));
    expect(bad).toEqual([]);
  });

  it('every @compute entry point of wgsl/ has exactly one descriptor', () => {
    const described = new Map<string, number>();
    for (const [, d] of descs) described.set(`${d.file}:${d.entry}`, (described.get(`${d.file}:${d.entry}`) ?? 0) + 1);
    const entries = files.flatMap((f) => [...parsed.get(f)!.entries.keys()].map((e) => `${f}:${e}`));
    expect(entries.filter((e) => described.get(e) !== 1)).toEqual([]);
    expect([...described.keys()].filter((k) => !entries.includes(k))).toEqual([]);
  });

  it('catches a swapped uniform field, a wrong workgroup size and a wrong storage access', () => {
    const d = PROGRAMS.householder_apply;
    const sh = parsed.get(d.file)!;
    expect(mismatches(d, sh)).toEqual([]);
    const u = [...d.uniforms];
    [u[2], u[3]] = [u[3], u[2]];
    expect(mismatches({ ...d, uniforms: u }, sh).join('\n')).toMatch(/struct ApplyParams .* but the descriptor has/);
    expect(mismatches({ ...d, workgroupSize: [64] }, sh).join('\n')).toMatch(/@workgroup_size\(256\)/);
    expect(mismatches({ ...d, bindings: ['read', 'read', 'read'] }, sh).join('\n')).toMatch(/is read_write but the descriptor says 'read'/);
  });

  it('grid() divides by the workgroup size', () => {
    expect(grid(PROGRAMS.axpby, 257)).toBe(2);
    expect(grid(PROGRAMS.axpby, 0)).toBe(0);
    expect(grid(PROGRAMS.chol_panel, 64)).toBe(1);
    expect(grid(PROGRAMS.gemv_rowdot, 257)).toBe(2);
    expect(() => grid(PROGRAMS.gemm_tiled8, 1)).toThrow(/literal workgroup size/);
  });
});

describeEngines(
  'WebGPU program table compiles',
  (h) => {
    it('every shader module compiles and every program builds a pipeline with its layout', async () => {
      const device = (h.eng._backend as unknown as WebGPUBackend).env.ctx.device;
      const errors: string[] = [];
      for (const f of new Set(descs.map(([, d]) => d.file))) {
        const mod = device.createShaderModule({ code: loadWgsl(f), label: f });
        const info = await mod.getCompilationInfo();
        for (const m of info.messages) if (m.type === 'error') errors.push(`${f}:${m.lineNum}: ${m.message}`);
        for (const [key, d] of descs.filter(([, x]) => x.file === f)) {
          device.pushErrorScope('validation');
          const layout = device.createBindGroupLayout({ entries: layoutEntries(d), label: key });
          await device
            .createComputePipelineAsync({
              label: key,
              layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
              compute: { module: mod, entryPoint: d.entry },
            })
            .catch((e: Error) => errors.push(`${key}: ${e.message}`));
          const err = await device.popErrorScope();
          if (err) errors.push(`${key}: ${err.message}`);
        }
      }
      expect(errors).toEqual([]);
    }, 120_000);
  },
  { configs: [{ backend: 'webgpu', dtype: 'f32' }] },
);
