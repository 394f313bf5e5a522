import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `text` to `file` under a temp name first, then renames it: a reader never sees half a report. */
export function writeTextAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Writes the data (`report.json`) and its page (`report.html`) into `dir`, each atomically; `name` changes the base name. */
export function writeReportFiles(dir: string, report: unknown, html: string, name = 'report'): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, `${name}.json`), html: join(dir, `${name}.html`) };
  writeTextAtomically(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeTextAtomically(files.html, html);
  return files;
}
