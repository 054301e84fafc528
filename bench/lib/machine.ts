/** Facts about the machine and the software versions, recorded with every result. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface MachineInfo {
  hostname: string;
  tag: string;
  date: string;
  platform: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpuDetail?: string;
  logicalCores: number;
  memGiB: number;
  hypervisor?: string;
  loadAvgAtStart: number[];
  node: string;
  v8: string;
  git?: { commit: string; dirtyFiles: number };
}

function readCpuInfo(): { model?: string; detail?: string; hypervisor?: string } {
  try {
    const txt = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const first = txt.split('\n\n')[0];
    const field = (k: string): string | undefined => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
    const flags = field('flags') ?? '';
    const isa = ['avx512f', 'avx2', 'fma'].filter((f) => flags.split(' ').includes(f));
    const detail = [
      field('vendor_id'),
      field('cpu family') && `family ${field('cpu family')}`,
      field('model') && `model ${field('model')}`,
      isa.length ? isa.join('+') : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    return { model: field('model name'), detail, hypervisor: flags.includes('hypervisor') ? 'yes' : undefined };
  } catch {
    return {};
  }
}

function git(): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { commit, dirtyFiles: dirty.split('\n').filter(Boolean).length };
  } catch {
    return undefined;
  }
}

export function machineInfo(tag: string): MachineInfo {
  const cpu = readCpuInfo();
  let hyp: string | undefined;
  try {
    hyp = execFileSync('lscpu', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .match(/Hypervisor vendor:\s*(.*)/)?.[1]
      ?.trim();
  } catch {
    hyp = cpu.hypervisor;
  }
  return {
    hostname: os.hostname(),
    tag,
    date: new Date().toISOString(),
    platform: `${os.type()} ${os.release()}`,
    kernel: os.release(),
    arch: os.arch(),
    cpuModel: cpu.model ?? os.cpus()[0]?.model ?? 'unknown',
    cpuDetail: cpu.detail,
    logicalCores: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    hypervisor: hyp,
    loadAvgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    node: process.versions.node,
    v8: process.versions.v8,
    git: git(),
  };
}

/** Version of an installed npm package (undefined when absent). */
export function pkgVersion(name: string): string | undefined {
  const p = name === 'lowrank' ? path.join(repoRoot, 'package.json') : path.join(repoRoot, 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export function jsVersions(): Record<string, string | undefined> {
  const names = [
    'lowrank',
    'webgpu',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    'gpu.js',
    'ml-matrix',
    'tinybench',
    'vite-node',
  ];
  return Object.fromEntries(names.map((n) => [n, pkgVersion(n)]));
}

export function cores(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}
