import { readFileSync } from 'node:fs';

/**
 * Whether a process of this host still runs. A zombie (exited, not yet reaped: its parent, such as a CLI
 * that started it detached, is gone and no init reaps it) answers signal 0 but runs nothing, so it counts
 * as gone; a process of another user (EPERM) runs.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
}
