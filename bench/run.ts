/**
 * Benchmark dispatcher: `npm run bench -- <suite> [options]` (vite-node runs this TypeScript file).
 * See bench/README.md.
 */
import { parseArgs, USAGE } from './lib/args.js';
import { cleanupData } from './lib/data.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help || (!args.suite && !args.list)) {
    process.stdout.write(USAGE);
    return args.help ? 0 : 2;
  }
  if (args.list) {
    const { gemmPeers } = await import('./gemm.js');
    const { decompPeers } = await import('./decomp.js');
    process.stdout.write(
      `gemm peers:   ${gemmPeers()
        .map((p) => p.id)
        .join(', ')}\n`,
    );
    process.stdout.write(
      `decomp peers: ${decompPeers()
        .map((p) => p.id)
        .join(', ')}\n`,
    );
    return 0;
  }
  const suites = args.suite === 'all' ? ['gemm', 'decomp'] : [args.suite];
  for (const s of suites) {
    if (s === 'gemm') await (await import('./gemm.js')).runGemm(args);
    else if (s === 'decomp') await (await import('./decomp.js')).runDecomp(args);
    else if (s === 'rsvd') await (await import('./rsvd.js')).runRsvd(args);
    else if (s === 'sampling') await (await import('./sampling.js')).runSampling(args);
    else if (s === 'ssm') await (await import('./ssm.js')).runSsm(args);
    else if (s === 'subgm') await (await import('./subgm.js')).runSubgm(args);
    else if (s === 'geometry') await (await import('./geometry.js')).runGeometry(args);
    else if (s === 'compress') await (await import('./compress.js')).runCompress(args);
    else if (s === 'train') await (await import('./train.js')).runTrain(args);
    else if (s === 'completion') await (await import('./completion.js')).runCompletion(args);
    else if (s === 'dask') await (await import('./dask.js')).runDask(args);
    else {
      process.stderr.write(`bench: unknown suite '${s}'\n\n${USAGE}`);
      return 2;
    }
  }
  return 0;
}

main()
  .then((code) => {
    cleanupData();
    // Peers may leave worker pools or Dawn instances behind; the results are written, so exit.
    process.exit(code);
  })
  .catch((e) => {
    cleanupData();
    process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
