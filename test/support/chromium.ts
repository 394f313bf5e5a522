import { spawnSync } from 'node:child_process';

/** Headless Chromium's DOM of a local HTML file after its scripts ran, or null when chromium is not installed. */
export function chromiumDom(htmlFile: string): string | null {
  const probe = spawnSync('chromium', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return null;
  const result = spawnSync(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=3000', '--dump-dom', `file://${htmlFile}`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0) throw new Error(`chromium failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Renders a screenshot; returns its bytes' length (0 when it failed). */
export function chromiumScreenshot(htmlFile: string, pngFile: string): void {
  const result = spawnSync(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1400,1600', `--screenshot=${pngFile}`, `file://${htmlFile}`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0) throw new Error(`chromium screenshot failed (${result.status}): ${result.stderr}`);
}
