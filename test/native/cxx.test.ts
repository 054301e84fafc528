/**
 * The plain C++ test of the native algorithms (native/test/la_test.cc, CMake target lowrank_native_test,
 * linked without Node): configured with -DLOWRANK_BUILD_NATIVE_TESTS=ON in a temporary build directory,
 * built, run; it must exit 0 and report no failed check. Skipped, with a visible message, only when cmake
 * or a C++ compiler is missing (both are installed in CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

const haveCmake = has('cmake', ['--version']);
const haveCxx = has('c++', ['--version']) || has('g++', ['--version']) || has('clang++', ['--version']);
const missing = [haveCmake ? '' : 'cmake', haveCxx ? '' : 'a C++ compiler'].filter(Boolean).join(' and ');
if (missing) console.warn(`test/native/cxx.test.ts skipped: ${missing} not found`);

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${out.slice(-4000)}`);
  return out;
}

describe.skipIf(missing !== '')('native C++ test (lowrank_native_test)', () => {
  it('builds without Node and passes its relation checks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowrank-cxx-'));
    try {
      const ninja = has('ninja', ['--version']) ? ['-G', 'Ninja'] : [];
      run('cmake', ['-S', root, '-B', dir, ...ninja, '-DLOWRANK_BUILD_NATIVE_TESTS=ON', '-DCMAKE_BUILD_TYPE=Release']);
      run('cmake', ['--build', dir, '--target', 'lowrank_native_test', '--config', 'Release', '-j', '2']);
      const exe = join(dir, process.platform === 'win32' ? 'Release/lowrank_native_test.exe' : 'lowrank_native_test');
      const out = run(exe, []);
      expect(out).toMatch(/^\d+ checks, 0 failed$/m);
      expect(out).not.toMatch(/FAIL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
