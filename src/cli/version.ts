/**
 * This build's version, from package.json. A bundle without package.json
 * beside it can set TEGU_BUILD_VERSION at build time (esbuild --define).
 */
import { readFileSync } from 'node:fs';

declare const TEGU_BUILD_VERSION: string | undefined;

function readVersion(): string {
  if (typeof TEGU_BUILD_VERSION === 'string') return TEGU_BUILD_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VERSION = readVersion();
