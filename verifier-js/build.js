// Builds the browser scripts into api/static/verifier/ (or the folder given as the first argument):
// verifier.js (the library as the global CertledgerVerifier) and page.js (the public page's own verification).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '..', 'api', 'static', 'verifier'));
const common = { bundle: true, format: 'iife', target: ['es2022'], minify: true, legalComments: 'eof', logLevel: 'warning' };

await build({ ...common, entryPoints: [path.join(here, 'src', 'index.js')], globalName: 'CertledgerVerifier', outfile: path.join(out, 'verifier.js') });
await build({ ...common, entryPoints: [path.join(here, 'src', 'page.js')], outfile: path.join(out, 'page.js') });
