/**
 * An exclusive lock on the embedded data directory. PGlite takes none itself
 * (measured: two processes opened the same directory without error, which
 * corrupts it), so we keep `<dir>/tegu.lock` holding "pid@host". A lock whose
 * process is gone (same host) is stale and taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError } from '../lib/errors.ts';

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    await fh.writeFile(content);
    await fh.sync();
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'tegu.lock');
  const me = `${process.pid}@${hostname()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path, me)) {
      return {
        path,
        async release() {
          const held = await readFile(path, 'utf8').catch(() => '');
          if (held === me) await unlink(path).catch(() => undefined);
        },
      };
    }
    const held = (await readFile(path, 'utf8').catch(() => '')).trim();
    const m = /^(\d+)@(.+)$/.exec(held);
    const pid = m ? Number(m[1]) : NaN;
    const host = m?.[2];
    if (m && host === hostname() && pid !== process.pid && !alive(pid)) {
      await unlink(path).catch(() => undefined); // stale: its process is gone
      continue;
    }
    if (!m && attempt === 0) {
      // Empty or torn lock file (a crash between create and write): give it a moment.
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    throw new DataDirLockedError(
      `data directory ${dir} is in use by another tegu process (${held || 'unknown'}); ` +
        `stop it first, or use another --data directory`,
    );
  }
  throw new DataDirLockedError(`could not lock data directory ${dir}`);
}
