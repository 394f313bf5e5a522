import { escapeHtml, PLOT_READBACK_SCRIPT } from './svg-plot.js';

/*
 * The one page every report is: a self-contained HTML document with the
 * house stylesheet, a title, the body a report renders, and the script that
 * reads each plotted point back (the tests check the drawing against
 * report.json through it). Reports own their content, never their chrome.
 */

/** The house stylesheet of every report page. */
export const REPORT_STYLE =
  'body{font-family:system-ui,sans-serif;margin:24px;color:#222}' +
  'table{border-collapse:collapse;margin:8px 0 20px}' +
  'td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:right}' +
  'td:first-child,th:first-child{text-align:left}' +
  'figure{display:inline-block;margin:8px}code{font-size:12px}' +
  '.note{color:#555;font-size:13px;max-width:960px}';

/** A report page: `title` in the head (escaped), `body` as rendered (already HTML). */
export function reportPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${REPORT_STYLE}</style></head>
<body data-plots="0">
${body}
${PLOT_READBACK_SCRIPT}
</body></html>
`;
}
