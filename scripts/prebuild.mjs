// npm `prepack` hook of lowrank: puts the addon of this checkout (build/Release/lowrank.node, built by
// `npm ci` / `npm run build:native`; built here when missing or older than native/ and CMakeLists.txt)
// into prebuilds/<platform>-<arch>/lowrank.node, so that the packed package installs without a
// compiler (scripts/install.mjs); `npm run prepare` (tsc) runs after it, `postpack` removes prebuilds/. The build is portable: ISA-specific kernels are chosen at run time
// (native/isa.h), so a build with -march/-mcpu flags is refused. prebuilds/ is not committed (.gitignore).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTarget, loadError } from './install.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addon = path.join(root, 'build', 'Release', 'lowrank.node');

function fail(message) {
  console.error(`lowrank prepack: ${message}`);
  process.exit(1);
}

/** Newest modification time of the addon's sources (native/*.cc, *.h and CMakeLists.txt). */
function sourcesTime() {
  const files = readdirSync(path.join(root, 'native'))
    .filter((f) => /\.(cc|h)$/.test(f))
    .map((f) => path.join(root, 'native', f));
  return Math.max(...[...files, path.join(root, 'CMakeLists.txt')].map((f) => statSync(f).mtimeMs));
}

// `--clean` (npm `postpack`): remove prebuilds/ again, so a checkout keeps only build/Release.
if (process.argv.includes('--clean')) {
  rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}

const target = hostTarget();
if (target.platform === 'linux' && target.libc !== 'glibc') fail('prebuilds are made on glibc Linux only (this is musl).');

if (!existsSync(addon) || statSync(addon).mtimeMs < sourcesTime()) {
  console.error(`lowrank prepack: ${existsSync(addon) ? 'the addon is older than native/' : 'no addon in build/Release'}; building it`);
  const cli = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
  const r = spawnSync(process.execPath, [cli, 'compile', '--out', 'build', '--config', 'Release'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('the addon build failed (output above).');
}

const cache = path.join(root, 'build', 'CMakeCache.txt');
if (existsSync(cache)) {
  const flags = readFileSync(cache, 'utf8')
    .split('\n')
    .filter((l) => /^CMAKE_CXX_FLAGS(_RELEASE)?:/.test(l))
    .join(' ');
  if (/-march=|-mcpu=|-mtune=native|-mavx|-msse4/.test(flags))
    fail(`build/ was configured with machine-specific flags (${flags}); a prebuild must be portable. Rebuild without them.`);
}

const why = loadError(addon);
if (why) fail(`build/Release/lowrank.node does not load (${why}).`);

const dir = path.join(root, 'prebuilds', `${target.platform}-${target.arch}`);
rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
copyFileSync(addon, path.join(dir, 'lowrank.node'));
console.error(`lowrank prepack: prebuilds/${target.platform}-${target.arch}/lowrank.node (${statSync(addon).size} bytes)`);
