import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The parts of `@influxdata/flux-lsp-browser` (the Flux language server, Rust → wasm) the tests use. */
export interface FluxChecker {
  /** Parses; false on a syntax error. */
  isValidSyntax(script: string): boolean;
  /** Parses and type-checks against the Flux standard library (imports, argument names, types). */
  isValidSemantics(script: string): boolean;
  /** The AST as JSON (`body` statements, `imports`), for asserting what the script contains. */
  parse(script: string): { imports: Array<{ path: { value: string } }>; body: Array<{ type: string; id?: { name: string } }> };
}

/**
 * Loads the Flux parser in Node. The package is built for bundlers: its glue module imports the
 * `.wasm` file as an ES module, which Node (without --experimental-wasm-modules) cannot, and the
 * two modules import each other. So the glue is loaded from a data: URL with that import replaced
 * by a setter, and the wasm is instantiated here with the glue as its import object: the same
 * wiring a bundler generates. Pinned to 0.8.40 because this depends on that glue's shape.
 */
export async function loadFluxChecker(): Promise<FluxChecker> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@influxdata/flux-lsp-browser/package.json'));
  const glue = await readFile(join(dir, 'flux-lsp-browser_bg.js'), 'utf8');
  const wasmImport = "import * as wasm from './flux-lsp-browser_bg.wasm';";
  const memoryInit = /\ncachedInt32Memory0 = new Int32Array\(wasm\.memory\.buffer\);\ncachedUint8Memory0 = new Uint8Array\(wasm\.memory\.buffer\);\s*$/;
  if (!glue.includes(wasmImport) || !memoryInit.test(glue)) throw new Error('@influxdata/flux-lsp-browser: unexpected glue code; the loader in test/support/flux.ts needs updating');
  const patched = glue
    .replace(wasmImport, 'let wasm;\nexport function __setWasm(w) { wasm = w; cachedInt32Memory0 = new Int32Array(w.memory.buffer); cachedUint8Memory0 = new Uint8Array(w.memory.buffer); }')
    .replace(memoryInit, '\n');
  const bg = (await import(`data:text/javascript;base64,${Buffer.from(patched).toString('base64')}`)) as {
    __setWasm(exports: unknown): void;
    is_valid_flux(script: string): boolean;
    parse(script: string): ReturnType<FluxChecker['parse']>;
    Flux: new (script: string) => { is_valid(): boolean; free(): void };
  };
  // The project's TypeScript lib has no WebAssembly typings (no DOM lib); Node has the global.
  const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { instantiate(bytes: Buffer, imports: object): Promise<{ instance: { exports: unknown } }> } };
  const { instance } = await wasm.instantiate(await readFile(join(dir, 'flux-lsp-browser_bg.wasm')), { './flux-lsp-browser_bg.js': bg });
  bg.__setWasm(instance.exports);
  return {
    isValidSyntax: (script) => bg.is_valid_flux(script),
    isValidSemantics(script) {
      const f = new bg.Flux(script);
      try {
        return f.is_valid();
      } finally {
        f.free();
      }
    },
    parse: (script) => bg.parse(script),
  };
}
