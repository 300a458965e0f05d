// Builds the browser scripts into api/static/verifier/ (or the folder given as the first argument):
// verifier.js (the library as the global CertledgerVerifier), page.js (the public page's own verification), and
// two ES modules verifier.js imports from beside itself on first use: credential.js (W3C VCs, with jsonld: large)
// and sd_jwt.js (SD-JWT VCs). A browser that verifies proof bundles only never fetches them.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '..', 'api', 'static', 'verifier'));
const LAZY = ['credential.js', 'sd_jwt.js'];
const lazy = { name: 'lazy-modules', setup(b) {
  b.onResolve({ filter: /^\.\/(credential|sd_jwt)\.js$/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
} };
const common = { bundle: true, format: 'iife', target: ['es2022'], minify: true, legalComments: 'eof', logLevel: 'warning', plugins: [lazy] };

await build({ ...common, entryPoints: [path.join(here, 'src', 'index.js')], globalName: 'CertledgerVerifier', outfile: path.join(out, 'verifier.js') });
await build({ ...common, entryPoints: [path.join(here, 'src', 'page.js')], outfile: path.join(out, 'page.js') });
for (const name of LAZY) {
  await build({ ...common, format: 'esm', plugins: [], entryPoints: [path.join(here, 'src', name)], outfile: path.join(out, name) });
}
