/*
 * bench/encoder's report (docs/encoder/report.json) and the README block made
 * from it; test/unit/bench/readme-encoder.test.ts checks that the README's
 * block is exactly renderEncoderMarkdown of the committed report.
 */

export interface EngineRow {
  model: string;
  /** tfjs-wasm, onnxruntime, or "pytorch <version>". */
  engine: string;
  threads: number;
  passagesPerSecond: number;
  /** Largest difference of the first rows' vectors from ONNX Runtime's at 1 thread (the same weights). */
  maxDiffVsOnnx: number;
}

export interface EncoderReport {
  commit: string;
  machine: string;
  batch: number;
  tokens: number;
  engines: EngineRow[];
  demoJob: { passages: number; tfjsSeconds: number; onnxSeconds: number; poolThreads: number; maxDiff: number };
}

/** The passages/s of one model on one engine and thread count (undefined where not measured). */
export function engineRate(report: EncoderReport, model: string, engine: (name: string) => boolean, threads: number): number | undefined {
  return report.engines.find((r) => r.model === model && engine(r.engine) && r.threads === threads)?.passagesPerSecond;
}

const isOnnx = (e: string) => e === 'onnxruntime';
const isTfjs = (e: string) => e === 'tfjs-wasm';
const isTorch = (e: string) => e.startsWith('pytorch');

export function renderEncoderMarkdown(report: EncoderReport): string {
  const models = [...new Set(report.engines.map((r) => r.model))];
  const cell = (v: number | undefined) => (v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(1)}×`);
  const lines = [
    `Passages/s at batch ${report.batch} × ${report.tokens} tokens, the same weights in every column (commit ${report.commit}, ${report.machine}):`,
    '',
    '| model | tfjs-wasm (1 thread) | ORT CPU 1 thread | ORT CPU 2 threads | PyTorch CPU 1 thread | PyTorch CPU 2 threads | ORT ÷ tfjs (1 thread) | ORT ÷ PyTorch (1 / 2 threads) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const model of models) {
    const tfjs = engineRate(report, model, isTfjs, 1);
    const ort1 = engineRate(report, model, isOnnx, 1);
    const ort2 = engineRate(report, model, isOnnx, 2);
    const torch1 = engineRate(report, model, isTorch, 1);
    const torch2 = engineRate(report, model, isTorch, 2);
    lines.push(
      `| ${model} | ${cell(tfjs)} | ${cell(ort1)} | ${cell(ort2)} | ${cell(torch1)} | ${cell(torch2)} | ${ratio(ort1, tfjs)} | ${ratio(ort1, torch1)} / ${ratio(ort2, torch2)} |`,
    );
  }
  const worst = Math.max(...report.engines.map((r) => r.maxDiffVsOnnx));
  const d = report.demoJob;
  lines.push(
    '',
    `Largest difference of any engine's vectors from ONNX Runtime's on the same batch: ${worst.toExponential(1)}. ` +
      `The demo's encode job (${d.passages.toLocaleString('en-US')} WordNet passages, sci train's default fast model, ${d.poolThreads} pool threads): ` +
      `${d.tfjsSeconds.toFixed(1)} s on tfjs, ${d.onnxSeconds.toFixed(1)} s on ONNX Runtime (${(d.tfjsSeconds / d.onnxSeconds).toFixed(1)}×; vectors within ${d.maxDiff.toExponential(1)}).`,
  );
  return lines.join('\n');
}
