/**
 * Preloaded into `tegu serve` by bench/imap (`node --expose-gc --import <this
 * file>`): SIGUSR2 runs a full garbage collection, so idle memory can be
 * measured without V8's not-yet-collected garbage, which otherwise moves a
 * process's memory by tens of MB from one sample to the next. Nothing else
 * changes in the server. Plain JavaScript: the server runs as built (a
 * CommonJS bundle, see tegu-serve.ts), without a TypeScript loader.
 */
const gc = globalThis.gc;
if (gc) {
  process.on('SIGUSR2', () => {
    // Twice: the second pass also frees what finalizers and weak references released in the first.
    gc();
    gc();
  });
}
