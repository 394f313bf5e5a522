import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanStd, renderGridMarkdown, type GridRecord, type GridRow } from '../../../experiment/index.js';

/* A grid record's README block: every number is the record's, in the row and column it belongs to. */

const metrics = (r10: number[], r100: number[]) => ({ 'Recall@10': meanStd(r10), 'MRR@10': meanStd(r10.map((v) => v / 2)), 'Recall@100': meanStd(r100) });

/** The cells of the table line whose first cell is `name`, after that first cell. */
function rowCells(lines: readonly string[], name: string): string[] {
  return lines
    .find((l) => l.startsWith(`| ${name} |`))!
    .split('|')
    .slice(2, -1)
    .map((c) => c.trim());
}

function row(label: string, r10: number[], gap: number[], sweep: Array<[number, number[]]>): GridRow {
  return {
    cell: `aligner=${label}`,
    labels: { aligner: label },
    values: {},
    row: 'separate',
    stage: 'stage1',
    seeds: r10.map((_, i) => i + 1),
    dev: metrics(r10, [0.7, 0.71]),
    test: metrics(
      r10.map((v) => v - 0.01),
      [0.69, 0.7],
    ),
    hnsw: null,
    geometry: {
      positiveCosine: meanStd([0.3, 0.32]),
      alignment: meanStd([1]),
      uniformity: meanStd([-3]),
      crossTowerGap: meanStd(gap),
      histogram: { binWidth: 0.1, fractions: [] },
    },
    sweeps: [
      {
        index: 'ivf',
        factory: 'IVF256,Flat',
        dualView: false,
        param: 'nprobe',
        points: sweep.map(([value, recall]) => ({ value, recall: meanStd(recall), overlap: null, ndisPerQuery: meanStd([value * 100]) })),
      },
    ],
    longTail: null,
  };
}

test('the grid block: baselines and rows with mean ± std from the record, the sweep at the chosen nprobe', () => {
  const record = {
    name: 'sci',
    command: 'sci experiment run config/experiments/sci.yaml --seeds 2',
    seeds: [1, 2],
    provenance: [{ commit: 'abcdef0123456789', dirty: false }],
    body: {
      axes: [{ name: 'aligner', key: 'train.objective.symmAligner', labels: ['off', 'C'] }],
      baselines: [{ name: 'bm25', dev: metrics([0.4225], [0.7639]), test: metrics([0.4192], [0.763]) }],
      rows: [
        row(
          'off',
          [0.37, 0.38],
          [0.27, 0.274],
          [
            [1, [0.09, 0.1]],
            [8, [0.16, 0.17]],
            [64, [0.25, 0.26]],
          ],
        ),
        row(
          'C',
          [0.41, 0.42],
          [0.039, 0.041],
          [
            [1, [0.11, 0.12]],
            [8, [0.22, 0.23]],
            [64, [0.31, 0.32]],
          ],
        ),
      ],
    },
  } as unknown as GridRecord;
  const lines = renderGridMarkdown(record, { nprobes: [1, 64] }).split('\n');
  const cells = (name: string) => rowCells(lines, name);
  assert.match(lines[0]!, /^Grid `sci` \(aligner\) at commit `abcdef0123`, seeds 1, 2, made by `sci experiment run config\/experiments\/sci.yaml --seeds 2`/);
  // seeds, dev R@10 / MRR@10 / R@100, test R@10 / MRR@10 / R@100, cos(q, d+), gap
  assert.deepEqual(cells('BM25'), ['', '0.4225', '0.2112', '0.7639', '0.4192', '0.2096', '0.7630', '', '']);
  assert.deepEqual(cells('off'), [
    '1, 2',
    '0.3750 ± 0.0071',
    '0.1875 ± 0.0035',
    '0.7050 ± 0.0071',
    '0.3650 ± 0.0071',
    '0.1825 ± 0.0035',
    '0.6950 ± 0.0071',
    '0.310 ± 0.014',
    '0.272 ± 0.003',
  ]);
  assert.equal(cells('C')[8], '0.040 ± 0.001');
  const sweepHeader = lines.findIndex((l) => l.startsWith('Recall@10 at nprobe 1 / 64'));
  assert.ok(sweepHeader > 0, 'the sweep table follows');
  assert.deepEqual(lines.slice(sweepHeader + 4), ['| off | 0.095 ± 0.007 / 0.255 ± 0.007 |', '| C | 0.115 ± 0.007 / 0.315 ± 0.007 |']);
});

test('a grid with two rows per cell: each row named by its cell and label, uniformity beside cos(q, d⁺) when asked, HNSW work per query', () => {
  const thesisRow = (w: string, label: string, uniformity: number[], ndis: number[]): GridRow => ({
    ...row('off', [0.41, 0.43], [0, 0], []),
    cell: `w=${w}`,
    labels: { w },
    row: label,
    sweeps: [],
    geometry: {
      positiveCosine: meanStd([0.5, 0.52]),
      alignment: meanStd([1]),
      uniformity: meanStd(uniformity),
      crossTowerGap: meanStd([0, 0]),
      histogram: { binWidth: 0.1, fractions: [] },
    },
    hnsw: { target: 0.95, ndisPerQuery: meanStd(ndis), efSearch: meanStd([64, 64]), reached: 2 },
  });
  const record = {
    name: 'thesis',
    command: 'sci experiment run config/experiments/thesis.yaml --seeds 2',
    seeds: [1, 2],
    provenance: [{ commit: 'abcdef0123456789', dirty: false }],
    body: {
      axes: [{ name: 'w', key: 'train.objective.distanceWeight', labels: ['0', '1'] }],
      baselines: [],
      rows: [thesisRow('0', 'in-batch', [-3.9, -3.85], [7300, 7400]), thesisRow('0', 'three-stage', [-3.8, -3.7], [7500, 7520])],
    },
  } as unknown as GridRecord;
  const lines = renderGridMarkdown(record, { uniformity: true }).split('\n');
  const cells = (name: string) => rowCells(lines, name);
  assert.equal(
    lines[2],
    '| w | seeds | dev Recall@10 | dev MRR@10 | dev Recall@100 | test Recall@10 | test MRR@10 | test Recall@100 | cos(q, d⁺) | uniformity | HNSW distances / query at overlap 0.95 |',
  );
  assert.deepEqual(cells('0, in-batch').slice(7), ['0.510 ± 0.014', '-3.875 ± 0.035', '7,350 ± 71']);
  assert.deepEqual(cells('0, three-stage').slice(8), ['-3.750 ± 0.071', '7,510 ± 14']);
  assert.ok(!renderGridMarkdown(record).includes('uniformity'), 'no uniformity column unless asked');
});
