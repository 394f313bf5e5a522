import { readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';

/*
 * Evaluation reports for the dashboard: every report.html under the folder
 * `api.reports` names (sci eval, pipeline and experiment outputs), and the
 * files beside them served read-only. A path that leaves the folder (through
 * '..' or a symlink) is not served.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.trec': 'text/plain; charset=utf-8',
};
const MAX_DEPTH = 6;

export interface ReportLink {
  /** The report's folder relative to the reports folder. */
  name: string;
  url: string;
  modifiedAt: string;
}

export function listReports(root: string): ReportLink[] {
  const base = realpathSync(root);
  const found: ReportLink[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && depth < MAX_DEPTH) walk(path, depth + 1);
      else if (entry.isFile() && entry.name === 'report.html') {
        const rel = relative(base, path).split(sep).join('/');
        found.push({ name: rel.replace(/\/?report\.html$/, '') || '.', url: `/reports/${rel}`, modifiedAt: statSync(path).mtime.toISOString() });
      }
    }
  };
  walk(base, 0);
  return found.sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt));
}

/** The file a /reports/<rel> path names, or null when it is outside the folder, missing or of another type. */
export function reportFile(root: string, rel: string): { path: string; type: string } | null {
  const type = TYPES[extname(rel).toLowerCase()];
  if (!type) return null;
  try {
    const base = realpathSync(root);
    const path = realpathSync(resolve(base, decodeURIComponent(rel)));
    if (!path.startsWith(base + sep) || !statSync(path).isFile()) return null;
    return { path, type };
  } catch {
    return null;
  }
}
