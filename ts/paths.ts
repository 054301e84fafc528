/** Locations inside the installed package (same depth from ts/ and dist/, so one rule serves both). */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the lowrank package (the folder holding package.json, wgsl/ and build/). */
export const packageRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Folder of the WGSL shader files. */
export const wgslDir: string = path.join(packageRoot, 'wgsl');

/** The compiled addon; `LOWRANK_NATIVE_ADDON` overrides the path (useful for side-by-side builds). */
export function addonPath(): string {
  return process.env.LOWRANK_NATIVE_ADDON ?? path.join(packageRoot, 'build', 'Release', 'lowrank.node');
}
