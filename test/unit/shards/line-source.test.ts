import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLines, type LineEvent } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';

async function collect(path: string, maxLineBytes = 1000, chunkBytes = 7): Promise<LineEvent[]> {
  const all: LineEvent[] = [];
  for await (const events of readLines(path, { maxLineBytes, chunkBytes, excerptChars: 10 })) all.push(...events);
  return all;
}

test('CRLF endings, a BOM and a missing final newline are handled; lines are numbered', async (t) => {
  const file = join(tempDir(t), 'a.txt');
  writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('first\r\nsecond\n\nthird é')]));
  const events = await collect(file);
  assert.deepEqual(events, [
    { kind: 'line', line: 1, text: 'first' },
    { kind: 'line', line: 2, text: 'second' },
    { kind: 'line', line: 3, text: '' },
    { kind: 'line', line: 4, text: 'third é' },
  ]);
});

test('invalid UTF-8 rejects only its own line', async (t) => {
  const file = join(tempDir(t), 'b.txt');
  writeFileSync(file, Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from(' x\nok again\n')]));
  const events = await collect(file);
  assert.equal(events.length, 3);
  assert.equal(events[1]!.kind, 'invalid_utf8');
  assert.equal(events[1]!.line, 2);
  assert.deepEqual(events[2], { kind: 'line', line: 3, text: 'ok again' });
});

test('over-long lines are skipped across chunk boundaries with their size', async (t) => {
  const file = join(tempDir(t), 'c.txt');
  writeFileSync(file, `short\n${'x'.repeat(100)}\nafter\n${'y'.repeat(50)}`);
  const events = await collect(file, 20, 8);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['line', 'line_too_long', 'line', 'line_too_long'],
  );
  const long = events[1] as Extract<LineEvent, { kind: 'line_too_long' }>;
  assert.equal(long.line, 2);
  assert.equal(long.bytes, 100);
  assert.equal(long.excerpt, 'x'.repeat(10));
  assert.deepEqual(events[2], { kind: 'line', line: 3, text: 'after' });
  assert.equal(events[3]!.line, 4);
});

test('multi-byte characters split across chunks decode intact', async (t) => {
  const file = join(tempDir(t), 'd.txt');
  const text = 'ééé€€€😀😀\nzz\n';
  writeFileSync(file, text);
  for (const chunkBytes of [1, 2, 3, 5]) {
    const events = await collect(file, 1000, chunkBytes);
    assert.deepEqual(
      events.map((e) => (e.kind === 'line' ? e.text : e.kind)),
      ['ééé€€€😀😀', 'zz'],
    );
  }
});
