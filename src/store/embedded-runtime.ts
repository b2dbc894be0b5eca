/**
 * Where the embedded engine's worker and PGlite's files come from, in the
 * three ways tegu runs:
 *
 *  - from source (tsx): the .ts worker, loaded through tsx's API because Node 20
 *    does not pass loader hooks to workers; PGlite finds its files in node_modules;
 *  - as a bundle (dist/tegu.cjs): the worker is dist/embedded-worker.cjs and PGlite's
 *    pglite.wasm, initdb.wasm and pglite.data lie beside it;
 *  - as the single executable (Node SEA): the worker source and PGlite's files
 *    are assets inside the executable (node:sea getAsset).
 *
 * In the bundle, PGlite cannot locate its files itself (its module URL is
 * gone), so the main thread compiles them and hands them to the worker.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EmbeddedAssets, WorkerInit } from './embedded-protocol.ts';

/** Set to true by the build (esbuild `define`); undefined when running from source. */
declare const __TEGU_BUNDLE__: boolean | undefined;
/** The runtime's WebAssembly global (not in the ES lib this project targets). */
declare const WebAssembly: { Module: new (bytes: ArrayBuffer) => object };

interface Sea {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
  getAsset(key: string, encoding: string): string;
}

function sea(): Sea | undefined {
  const mod = process.getBuiltinModule?.('node:sea') as Sea | undefined;
  return mod?.isSea() ? mod : undefined;
}

const WORKER = 'embedded-worker.cjs';
const FILES = { pgliteWasm: 'pglite.wasm', initdbWasm: 'initdb.wasm', fsBundle: 'pglite.data' } as const;

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

let cached: EmbeddedAssets | undefined;

/** Compiles PGlite's WebAssembly once per process (about 9 MB). */
function bundledAssets(read: (name: string) => ArrayBuffer): EmbeddedAssets {
  cached ??= {
    pgliteWasm: new WebAssembly.Module(read(FILES.pgliteWasm)),
    initdbWasm: new WebAssembly.Module(read(FILES.initdbWasm)),
    fsBundle: read(FILES.fsBundle),
  };
  return cached;
}

export function spawnEmbeddedWorker(init: WorkerInit): Worker {
  if (typeof __TEGU_BUNDLE__ === 'undefined') {
    // From source. Node 20 does not carry tsx's loader hooks into workers: load it through tsx's API.
    const url = new URL('./embedded-worker.ts', import.meta.url);
    const api = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(import.meta.url)}))`;
    return new Worker(boot, { eval: true, workerData: init });
  }
  const exe = sea();
  if (exe) {
    const assets = bundledAssets((name) => exe.getAsset(name));
    return new Worker(exe.getAsset(WORKER, 'utf8'), { eval: true, workerData: { ...init, assets } });
  }
  const dir = dirname(fileURLToPath(import.meta.url));
  const assets = bundledAssets((name) => toArrayBuffer(readFileSync(join(dir, name))));
  return new Worker(join(dir, WORKER), { workerData: { ...init, assets } });
}
