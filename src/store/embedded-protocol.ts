/** Messages between store/embedded.ts (main thread) and store/embedded-worker.ts. */

export type WorkerRequest =
  | { id: number; op: 'query'; tx?: number; sql: string; params: unknown[] }
  | { id: number; op: 'exec'; tx?: number; sql: string }
  | { id: number; op: 'begin'; tx: number }
  | { id: number; op: 'commit'; tx: number }
  | { id: number; op: 'rollback'; tx: number }
  | { id: number; op: 'listen'; channel: string }
  | { id: number; op: 'unlisten'; channel: string }
  | { id: number; op: 'close' };

export interface WireError {
  message: string;
  code?: string;
  detail?: string;
  constraint?: string;
}

export type WorkerReply =
  | { type: 'reply'; id: number; ok: true; rows?: Record<string, unknown>[] }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  | { type: 'notify'; channel: string; payload: string }
  | { type: 'ready' }
  | { type: 'fatal'; error: WireError };

export interface WorkerInit {
  /** Directory PGlite keeps its cluster in. Its parent must exist. */
  pgdata: string;
  /**
   * PGlite's WebAssembly and file-system bundle, when it cannot find them beside
   * its own module (the bundled `tegu`). Compiled modules cross to the worker by
   * structured clone.
   */
  assets?: EmbeddedAssets;
}

/** A compiled WebAssembly.Module (the ES lib this project targets has no WebAssembly types). */
export type WasmModule = object;

export interface EmbeddedAssets {
  pgliteWasm: WasmModule;
  initdbWasm: WasmModule;
  fsBundle: ArrayBuffer;
}
