/**
 * WGSL sources live as real files in `wgsl/`. The only preprocessing is textual inclusion:
 * a line `//!include "name.wgsl"` is replaced by that file (once per module). Specialization uses WGSL
 * `override` constants set at pipeline creation, never string templating.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { wgslDir } from '../../paths.js';

const cache = new Map<string, string>();

const INCLUDE = /^\s*\/\/!include\s+"([^"]+)"\s*$/;

/** The WGSL source of `file` with includes expanded. */
export function loadWgsl(file: string): string {
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  const seen = new Set<string>();
  const expand = (name: string): string => {
    if (seen.has(name)) return '';
    seen.add(name);
    const text = readFileSync(path.join(wgslDir, name), 'utf8');
    return text
      .split('\n')
      .map((line) => {
        const m = INCLUDE.exec(line);
        return m ? `// ---- begin ${m[1]} ----\n${expand(m[1])}\n// ---- end ${m[1]} ----` : line;
      })
      .join('\n');
  };
  const src = expand(file);
  cache.set(file, src);
  return src;
}
