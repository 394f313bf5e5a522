import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission } from '../../../api/index.js';

/** A promise and its resolver, to hold an operation open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('admission: `running` at once, `waiting` queued in order, one more refused at once with RESOURCE_EXHAUSTED', async () => {
  const admission = new Admission({ running: 2, waiting: 1 });
  const gates = [gate(), gate(), gate()];
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    admission.run('search', async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1], 'two run, the third waits');
  await assert.rejects(
    admission.run('search', () => 9),
    (err: { status?: number; code?: string; message: string }) => err.status === 503 && err.code === 'RESOURCE_EXHAUSTED' && /retry in 1 s/.test(err.message),
  );
  assert.equal(admission.refused, 1);
  gates[0]!.open();
  assert.equal(await runs[0], 0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2], 'the waiting one takes the freed slot');
  gates[1]!.open();
  gates[2]!.open();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
  // Everything released: a failing operation frees its slot too.
  await assert.rejects(
    admission.run('search', () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.deepEqual(await Promise.all([admission.run('search', () => 1), admission.run('search', () => 2), admission.run('search', () => 3)]), [1, 2, 3]);
});
