import { IngestError } from '../errors.js';
import { mapLines } from './lines.js';
import { excerpt, type IngestContext, type IngestEvent, type Ingester } from './types.js';

/*
 * DPR `psgs_w100.tsv`: a header naming `id`, `text`, `title` (any order,
 * extra columns ignored), then one passage per line. Fields may be quoted
 * CSV-style (`"…"` with `""` for a quote), as Python's csv module writes them.
 */

const REQUIRED = ['id', 'text', 'title'] as const;

export class TsvIngester implements Ingester {
  constructor(private readonly path: string) {}

  files(): string[] {
    return [this.path];
  }

  async *events(context: IngestContext): AsyncIterable<IngestEvent[]> {
    let columns: Map<string, number> | null = null;
    let width = 0;
    let idAt = 0;
    let textAt = 0;
    let titleAt = 0;
    yield* mapLines(this.path, 'passage', context, (text, origin, out) => {
      if (columns === null) {
        const names = splitTsvLine(text)?.map((s) => s.trim().toLowerCase()) ?? [];
        const missing = REQUIRED.filter((name) => !names.includes(name));
        if (missing.length > 0) {
          throw new IngestError(`expected a header line naming ${REQUIRED.join(', ')} (tab-separated); missing ${missing.join(', ')}`, {
            file: this.path,
            line: origin.line,
          });
        }
        columns = new Map(names.map((name, i) => [name, i]));
        width = names.length;
        [idAt, textAt, titleAt] = REQUIRED.map((name) => columns!.get(name)!) as [number, number, number];
        out.push({ ...origin, type: 'skip', what: 'header' });
        return;
      }
      const fields = splitTsvLine(text);
      if (fields === null) {
        out.push({
          ...origin,
          type: 'reject',
          kind: 'passage',
          reason: 'bad_quoting',
          message: 'unterminated or misplaced double quote',
          excerpt: excerpt(text, context.excerptChars),
        });
        return;
      }
      if (fields.length !== width) {
        out.push({
          ...origin,
          type: 'reject',
          kind: 'passage',
          reason: 'wrong_field_count',
          message: `expected ${width} tab-separated fields, found ${fields.length}`,
          excerpt: excerpt(text, context.excerptChars),
        });
        return;
      }
      const id = fields[idAt]!.trim();
      if (id === '') {
        out.push({ ...origin, type: 'reject', kind: 'passage', reason: 'missing_field', message: 'empty id', excerpt: excerpt(text, context.excerptChars) });
        return;
      }
      out.push({ type: 'passage', source: origin.source, line: origin.line, position: 'line', externalId: id, title: fields[titleAt]!, text: fields[textAt]! });
    });
    if (columns === null) throw new IngestError('file is empty: expected a header line id\\ttext\\ttitle', { file: this.path });
  }
}

/** Splits one TSV line; returns null on broken quoting. */
export function splitTsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) return null;
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      if (j < line.length && line.charCodeAt(j) !== 9) return null;
      fields.push(value);
      if (j >= line.length) return fields;
      i = j + 1;
    } else {
      const tab = line.indexOf('\t', i);
      if (tab === -1) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, tab));
      i = tab + 1;
    }
  }
}
