import { Command } from 'commander';
import { resolve } from 'node:path';
import { exportCheckpoint } from '../encoder/index.js';

/** `sci model export`: a trained checkpoint as ONNX graphs that any ONNX Runtime (ours, Python's, a GPU's) can run. */
export function modelCommand(): Command {
  const model = new Command('model').description('Encoder model folders: export a checkpoint to ONNX');
  model
    .command('export')
    .description('Write the ONNX graphs of a checkpoint (sci train best/ or last/), its vocabulary, sci-encoder.json and export-card.json')
    .argument('<checkpoint>', 'checkpoint folder (model-card.json)')
    .requiredOption('--out <dir>', 'output folder (replaced atomically)')
    .action((checkpoint: string, flags: { out: string }) => {
      const card = exportCheckpoint(resolve(checkpoint), resolve(flags.out));
      const files = Object.entries(card.files).map(([name, f]) => `  ${name}  ${(f.bytes / 2 ** 20).toFixed(2)} MiB  sha256 ${f.sha256.slice(0, 16)}…`);
      process.stdout.write(
        `exported ${card.source.architecture.kind} (${card.source.architecture.towers} towers) at step ${card.source.step}, weights sha256 ${card.source.weightsSha256.slice(0, 16)}… to ${resolve(flags.out)}\n${files.join('\n')}\n`,
      );
    });
  return model;
}
