// The verifiable map's cryptographic core (IETF KEYTRANS, suite KT_128_SHA256_P256). Pure
// building blocks, not yet wired into the directory; docs/TRANSPARENCY.md, "Verifiable map
// (KEYTRANS)", names the pinned draft and the decisions taken where it is open.
export {
  KT_CIPHER_SUITE,
  KT_HASH_LENGTH,
  KT_VRF_OUTPUT_LENGTH,
  KT_VRF_PROOF_LENGTH,
  KT_VRF_PUBLIC_KEY_LENGTH,
  KT_COMMITMENT_OPENING_LENGTH,
} from './suite.js';
export { ecvrfProve, ecvrfVerify, ecvrfProofToHash, ecvrfPublicKey } from './ecvrf.js';
