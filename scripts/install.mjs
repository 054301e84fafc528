// npm `install` hook of lowrank. Uses the prebuilt addon of the package (prebuilds/<platform>-<arch>/,
// made by `npm pack`, scripts/prebuild.mjs) when one matches this machine and loads; otherwise builds
// the addon from source with cmake-js into build/Release (what a git clone always does: it has no
// prebuilds). LOWRANK_BUILD_FROM_SOURCE=1 forces the source build. When cmake, a C++ compiler or a
// build tool is missing, says what and how to install it, and exits with 1.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** This machine as the prebuilds name it: platform, arch and (on Linux) the C library. */
export function hostTarget() {
  let libc;
  if (process.platform === 'linux') libc = process.report?.getReport()?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
  return { platform: process.platform, arch: process.arch, libc };
}

/** The prebuilt addon for `target` inside package folder `dir`, or undefined (Linux prebuilds are glibc only). */
export function prebuildFor(dir, target) {
  if (target.platform === 'linux' && target.libc !== 'glibc') return undefined;
  const p = path.join(dir, 'prebuilds', `${target.platform}-${target.arch}`, 'lowrank.node');
  return existsSync(p) ? p : undefined;
}

/** Undefined when the addon at `file` loads in a fresh Node and answers info(), else the first line of the error. */
export function loadError(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).info()`], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return undefined;
  const text = `${r.stderr ?? ''}`.split('\n').find((l) => /Error/.test(l)) ?? `exit status ${r.status ?? r.signal}`;
  return text.trim();
}

/** True when `cmd --version` runs and succeeds. */
function runs(cmd, env) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore', env, timeout: 30_000 });
  return r.status === 0;
}

/** The build tools a source build needs that are missing here (names for the message). */
export function missingTools(env = process.env, platform = process.platform, check = runs) {
  const missing = [];
  if (!check('cmake', env)) missing.push('cmake (>= 3.15)');
  if (platform !== 'win32') {
    const cxx = env.CXX ? [env.CXX] : ['c++', 'g++', 'clang++'];
    if (!cxx.some((c) => check(c, env))) missing.push(`a C++17 compiler (tried ${cxx.join(', ')}${env.CXX ? ' from CXX' : ''})`);
    if (!check('make', env) && !check('ninja', env)) missing.push('make or ninja');
  }
  return missing;
}

/**
 * What to do: { action: 'prebuilt', file } or { action: 'build', why }. `env` the environment,
 * `checkout` whether the package is a git checkout (a clone always builds, as its sources may be
 * newer than a prebuild left by `npm pack`), `prebuild` the matching prebuild (or undefined),
 * `loads(file)` undefined or why it does not load.
 */
export function decide({ env, target, checkout = false, prebuild, loads }) {
  const name = `${target.platform}-${target.arch}${target.libc ? ` (${target.libc})` : ''}`;
  if (env.LOWRANK_BUILD_FROM_SOURCE === '1') return { action: 'build', why: 'LOWRANK_BUILD_FROM_SOURCE=1 forces a source build' };
  if (checkout) return { action: 'build', why: 'a git checkout builds the addon from its sources' };
  if (!prebuild) {
    const carried = target.platform === 'linux' && target.arch === 'x64' && target.libc === 'glibc';
    return {
      action: 'build',
      why: carried
        ? 'this copy of the package has no prebuilt addon (prebuilds/linux-x64/lowrank.node is added by `npm pack`)'
        : `no prebuilt addon matches ${name}; the package carries linux-x64 (glibc) only`,
    };
  }
  const err = loads(prebuild);
  if (err) return { action: 'build', why: `the prebuilt addon ${prebuild} does not load here (${err})` };
  return { action: 'prebuilt', file: prebuild };
}

/** The message for missing build tools: what is missing, how to install it, why a build was needed. */
export function missingToolsMessage(missing, why) {
  return [
    `lowrank: cannot build the native addon from source: ${missing.join(', ')} not found on PATH.`,
    `  Why a source build: ${why}.`,
    '  Install the tools, then run `npm rebuild lowrank`:',
    '    Debian/Ubuntu: sudo apt-get install cmake g++ make',
    '    Fedora/RHEL:   sudo dnf install cmake gcc-c++ make',
    '    Alpine:        apk add cmake g++ make',
    '    macOS:         xcode-select --install && brew install cmake',
    '  On linux-x64 with glibc, unset LOWRANK_BUILD_FROM_SOURCE to use the prebuilt addon instead.',
  ].join('\n');
}

function main() {
  const target = hostTarget();
  const checkout = existsSync(path.join(root, '.git'));
  const plan = decide({ env: process.env, target, checkout, prebuild: prebuildFor(root, target), loads: loadError });
  if (plan.action === 'prebuilt') {
    console.log(`lowrank: using the prebuilt addon ${path.relative(root, plan.file)}`);
    return 0;
  }
  const missing = missingTools();
  if (missing.length > 0) {
    console.error(missingToolsMessage(missing, plan.why));
    return 1;
  }
  let cli;
  try {
    cli = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
  } catch {
    console.error(`lowrank: cannot build the native addon from source: the npm package cmake-js is not installed (${plan.why}).`);
    return 1;
  }
  console.log(`lowrank: building the native addon from source (${plan.why})`);
  const r = spawnSync(process.execPath, [cli, 'compile', '--out', 'build', '--config', 'Release'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.error('lowrank: the source build of the native addon failed (output above).');
  return r.status ?? 1;
}

const entry = process.argv[1] && existsSync(process.argv[1]) ? realpathSync(process.argv[1]) : undefined;
if (entry === realpathSync(fileURLToPath(import.meta.url))) process.exitCode = main();
