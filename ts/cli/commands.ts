/**
 * The subcommand table: name -> module. A new command is one file exporting `command: Command`
 * (see context.ts) plus one line here. Modules are loaded lazily, so a command's dependencies cost
 * nothing to the others.
 */
import type { Command } from './context.js';

export type CommandLoader = () => Promise<{ command: Command }>;

export const COMMANDS: ReadonlyArray<readonly [name: string, load: CommandLoader]> = [
  ['info', () => import('./info.js')],
  ['demo', () => import('./demo.js')],
  ['svd', () => import('./svd.js')],
  ['coreset', () => import('./coreset.js')],
  ['ssm-init', () => import('./ssm-init.js')],
  ['recover', () => import('./recover.js')],
  ['complete', () => import('./complete.js')],
  ['compress', () => import('./compress.js')],
  ['eora', () => import('./eora.js')],
  ['compare', () => import('./compare.js')],
  ['cluster', () => import('./cluster.js')],
  ['sketch', () => import('./sketch.js')],
  ['gram', () => import('./gram.js')],
  ['pass', () => import('./pass.js')],
  ['merge', () => import('./merge.js')],
  ['finish', () => import('./finish.js')],
  ['serve', () => import('./serve.js')],
];

export function findCommand(name: string): CommandLoader | undefined {
  return COMMANDS.find(([n]) => n === name)?.[1];
}
