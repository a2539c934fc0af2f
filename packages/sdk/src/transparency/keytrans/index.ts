// The verifiable map's cryptographic core (IETF KEYTRANS, suite KT_128_SHA256_P256): the VRF
// that turns (label, version) into a search key, the commitments the prefix tree holds, and the
// prefix tree with its search proofs. Pure building blocks, not yet wired into the directory;
// docs/TRANSPARENCY.md, "Verifiable map (KEYTRANS)", names the pinned draft and the decisions
// taken where it is open.
export {
  KT_CIPHER_SUITE,
  KT_HASH_LENGTH,
  KT_VRF_OUTPUT_LENGTH,
  KT_VRF_PROOF_LENGTH,
  KT_VRF_PUBLIC_KEY_LENGTH,
  KT_COMMITMENT_OPENING_LENGTH,
} from './suite.js';
export { ecvrfProve, ecvrfVerify, ecvrfProofToHash, ecvrfPublicKey } from './ecvrf.js';
export { vrfInput, proveSearchKey, verifySearchKey } from './vrf.js';
export type { ProvenSearchKey } from './vrf.js';
export { commit, verifyCommitment, commitmentValue, generateOpening } from './commitment.js';
export { prefixLeafValue, prefixParentValue } from './prefix-hash.js';
export type { PrefixLeaf } from './prefix-hash.js';
export { PrefixTree } from './prefix-tree.js';
export type { PrefixSearchAnswer } from './prefix-tree.js';
export { encodePrefixProof, decodePrefixProof, prefixRootFromProof, verifyPrefixProof } from './prefix-proof.js';
export type { PrefixProof, PrefixSearch, PrefixSearchResult } from './prefix-proof.js';
