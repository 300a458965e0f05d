// Verifies an SD-JWT VC with @sd-jwt/sd-jwt-vc, unchanged, offline.
// Input (stdin): {"sd_jwt": presentation, "jwk": the issuer's public JWK (from its did:web document),
// "status_list": the issuer's Token Status List JWT (what `status.status_list.uri` serves),
// "required": the claims the relying party asked for}. The library drops a disclosure that the signed
// token does not reference (a forged one) rather than failing: the claims a verifier requires then fail.
// Output (stdout): {"verified": bool, "claims": disclosed claims, "errors": [message]}.
import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {ES256, digest} from '@sd-jwt/crypto-nodejs';

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const sdjwt = new SDJwtVcInstance({
  hasher: digest,
  hashAlg: 'sha-256',
  verifier: await ES256.getVerifier(input.jwk),
  statusListFetcher: async () => input.status_list,
});
let out;
try {
  const result = await sdjwt.verify(input.sd_jwt, {requiredClaimKeys: input.required || []});
  const claims = await sdjwt.getClaims(input.sd_jwt);
  out = {verified: true, claims, header: result.header, errors: []};
} catch(e) {
  out = {verified: false, claims: null, errors: [String(e.message || e)]};
}
process.stdout.write(JSON.stringify(out) + '\n');
