/**
 * Reading and changing a Maildir++-style tree as mbsync (isync) writes it with
 * `SubFolders Verbatim`: every folder is a directory with cur/ new/ tmp/, a
 * subfolder `Work/Projects` is the directory Work/Projects. Message flags are
 * the letters after ":2," in the file name (https://cr.yp.to/proto/maildir.html):
 * D draft, F flagged, P passed, R replied, S seen, T trashed.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MaildirMessage {
  folder: string;
  /** cur or new. */
  sub: 'cur' | 'new';
  file: string;
  path: string;
  /** The info letters after ":2,", sorted. */
  flags: string;
  messageId: string;
}

/** The IMAP system flag for each Maildir info letter (RFC 9051 2.3.2). */
export const MAILDIR_TO_IMAP: Readonly<Record<string, string>> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };

export function imapFlagsOf(letters: string): string[] {
  return [...letters].map((c) => MAILDIR_TO_IMAP[c] ?? `?${c}`).sort();
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Folder names (relative paths with `/`) under `root` that are maildirs (have cur/). */
export async function maildirFolders(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === '' ? root : join(root, rel);
    if (rel !== '' && (await isDir(join(dir, 'cur')))) out.push(rel);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || ['cur', 'new', 'tmp'].includes(e.name) || e.name.startsWith('.')) continue;
      await walk(rel === '' ? e.name : `${rel}/${e.name}`);
    }
  };
  await walk('');
  return out.sort();
}

function headerValue(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const re = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im');
  return (re.exec(head)?.[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim();
}

export async function maildirMessages(root: string, folder: string): Promise<MaildirMessage[]> {
  const out: MaildirMessage[] = [];
  for (const sub of ['cur', 'new'] as const) {
    const dir = join(root, folder, sub);
    for (const file of (await readdir(dir)).sort()) {
      const path = join(dir, file);
      const info = /:2,([A-Za-z]*)$/.exec(file)?.[1] ?? '';
      const raw = await readFile(path, 'latin1');
      out.push({ folder, sub, file, path, flags: [...info].sort().join(''), messageId: headerValue(raw, 'Message-ID') });
    }
  }
  return out;
}

/** Delivers a message into folder/new the way a local MDA would (tmp/ then rename). */
export async function maildirDeliver(root: string, folder: string, raw: string): Promise<string> {
  const name = `${Date.now()}.${process.pid}_${randomBytes(4).toString('hex')}.test`;
  const tmp = join(root, folder, 'tmp', name);
  await writeFile(tmp, raw, 'latin1');
  const path = join(root, folder, 'new', name);
  await rename(tmp, path);
  return path;
}

/** Sets a message's info letters (a local mail reader's flag change): renames the file. */
export async function maildirSetFlags(m: MaildirMessage, letters: string): Promise<string> {
  const base = m.file.replace(/:2,[A-Za-z]*$/, '');
  const path = join(m.path, '..', '..', 'cur', `${base}:2,${[...letters].sort().join('')}`);
  await rename(m.path, path);
  return path;
}
