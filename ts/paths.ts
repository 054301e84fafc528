/** Locations inside the installed package (same depth from ts/ and dist/, so one rule serves both). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the lowrank package (the folder holding package.json, wgsl/ and build/). */
export const packageRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Folder of the WGSL shader files. */
export const wgslDir: string = path.join(packageRoot, 'wgsl');

/**
 * The C library of this Linux process: 'glibc', 'musl' (or another non-glibc libc), or undefined off
 * Linux. Node's report header names the glibc version only when it runs on glibc.
 */
export function linuxLibc(): 'glibc' | 'other' | undefined {
  if (process.platform !== 'linux') return undefined;
  if (libc === undefined) {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? 'glibc' : 'other';
  }
  return libc;
}
let libc: 'glibc' | 'other' | undefined;

/**
 * Folder name of the prebuilt addon for this process (`prebuilds/<name>/lowrank.node`), or undefined
 * where none can match: the npm package carries `linux-x64` (glibc, N-API 8); a Linux prebuild is
 * never used on musl.
 */
export function prebuildName(): string | undefined {
  if (process.platform === 'linux' && linuxLibc() !== 'glibc') return undefined;
  return `${process.platform}-${process.arch}`;
}

/**
 * Where the addon is looked for, in order: `LOWRANK_NATIVE_ADDON` alone when set (side-by-side
 * builds); else a source build (`build/Release/lowrank.node`, made by `npm run build:native` or by
 * `npm install` when no prebuild matched), then the prebuild matching this platform.
 */
export function addonCandidates(): string[] {
  if (process.env.LOWRANK_NATIVE_ADDON) return [process.env.LOWRANK_NATIVE_ADDON];
  const out = [path.join(packageRoot, 'build', 'Release', 'lowrank.node')];
  const name = prebuildName();
  if (name) out.push(path.join(packageRoot, 'prebuilds', name, 'lowrank.node'));
  return out;
}

/** The addon that will be loaded: the first of {@link addonCandidates} that exists (else the first). */
export function addonPath(): string {
  const c = addonCandidates();
  return c.find((p) => existsSync(p)) ?? c[0];
}
