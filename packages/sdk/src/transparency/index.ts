// @sigil/sdk/transparency: the log's hashes and proofs (RFC 9162), signed notes and checkpoints
// (C2SP tlog-checkpoint, signed-note), and the client's checkpoint verifier. For auditors,
// monitors and servers; an app developer does not need these names.
export { hashLeaf, hashChildren, emptyRoot, HASH_SIZE } from './hashing.js';
export { appendNodes, appendSiblingKeys, consistencyPlan, foldRange, inclusionPlan, rangeKeys, splitPoint } from './tree-math.js';
export type { NodeHash, NodeKey, Plan, SyncTreeHashes } from './tree-math.js';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from './proof.js';
export type { TreeIndex } from './tree-size.js';
export {
  logVerifierKey,
  parseLogVerifierKey,
  parseNote,
  verifyNote,
  signNote,
  NOTE_SIGNATURE_TYPE_ECDSA,
} from './signed-note.js';
export type { LogVerifierKey, NoteSignature, ParsedNote } from './signed-note.js';
export { checkpointText, signCheckpoint, parseCheckpointText, openCheckpoint } from './checkpoint.js';
export type { Checkpoint, SignedCheckpoint, OpenCheckpointOptions } from './checkpoint.js';
export {
  CheckpointVerifier,
  MemoryCheckpointStateStore,
  checkCheckpointUpdate,
  verifyLeafInCheckpoint,
} from './checkpoint-verifier.js';
export type { CheckpointStateStore, CheckpointVerifierOptions } from './checkpoint-verifier.js';
export { compareCheckpoints } from '../directory/gossip.js';
export type { CompareCheckpointsOptions, CheckpointComparison } from '../directory/gossip.js';
// The verifiable map's cryptographic core (KEYTRANS): VRF, commitments, prefix tree.
export * from './keytrans/index.js';
