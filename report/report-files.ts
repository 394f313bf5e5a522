import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `report.json` (the data) and `report.html` (its page) into `dir`, each under a temp name first, then renamed. */
export function writeReportFiles(dir: string, report: unknown, html: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, 'report.json'), html: join(dir, 'report.html') };
  writeFileSync(`${files.json}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${files.json}.tmp`, files.json);
  writeFileSync(`${files.html}.tmp`, html);
  renameSync(`${files.html}.tmp`, files.html);
  return files;
}
