/** The `tegu` command. Everything happens in run.ts; this file only binds it to the process. */
import { runCli } from './run.ts';

// `tegu user list | head -1`: a closed pipe is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// No top-level await: the single-file build is CommonJS.
void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
}).then((code) => {
  process.exitCode = code;
  // A finished command must end even if something still holds the event loop.
  setTimeout(() => process.exit(code), 3000).unref();
});
