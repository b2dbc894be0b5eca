/**
 * Reading a new password: from an interactive prompt without echo when stdin
 * is a terminal (asked twice, must match), otherwise (or with
 * --password-stdin) the first line of standard input, so scripts can pipe it
 * in and it never appears in `ps` or the shell history.
 */
import { InvalidInputError, TeguError } from '../lib/errors.ts';
import type { Io } from './types.ts';

/** The first line of a stream, without its line ending. */
export async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b);
    // Leaving the loop ends reading: the rest of the input is not ours.
    if (b.includes(0x0a)) break;
  }
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  return (nl >= 0 ? text.slice(0, nl) : text).replace(/\r$/, '');
}

type TtyIn = NodeJS.ReadStream & { setRawMode(mode: boolean): unknown };

/** One line from the terminal in raw mode, echoing nothing. */
function promptHidden(prompt: string, stdin: TtyIn, out: NodeJS.WritableStream): Promise<string> {
  // Raw mode before the prompt: keys typed ahead must not be echoed either.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  out.write(prompt);
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
    };
    const onData = (s: string): void => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(buf);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && buf === '')) {
          // Ctrl-C, or Ctrl-D on an empty line.
          finish();
          reject(new TeguError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else if (ch === '\u0015') buf = ''; // Ctrl-U: erase the line
        else if (ch >= ' ') buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a new password for `address` (see the module comment). */
export async function readNewPassword(io: Io, address: string, fromStdin: boolean): Promise<string> {
  const stdin = io.stdin as TtyIn;
  if (!fromStdin && stdin.isTTY && typeof stdin.setRawMode === 'function') {
    const first = await promptHidden(`Password for ${address}: `, stdin, io.stderr);
    const second = await promptHidden('Repeat the password: ', stdin, io.stderr);
    if (first !== second) throw new InvalidInputError('the passwords do not match');
    return first;
  }
  const line = await readFirstLine(io.stdin);
  if (line === undefined) {
    throw new InvalidInputError('no password on standard input (pipe it in, or run in a terminal to be asked)');
  }
  return line;
}
