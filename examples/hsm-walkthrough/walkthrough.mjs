// `npm start`: a short walk-through of Sigil's hardware key custody on a throwaway SoftHSM token.
//
// It makes a token, generates an identity on it (a signing key and an agreement key), signs and
// verifies, agrees a secret with a peer, and shows from the token's own answers that the private
// key cannot be exported. Then it deletes the token. Plain JavaScript over the built packages
// (scripts/ensure.sh runs `tsc -b` first).
import { createHash, timingSafeEqual, verify as nodeVerify, createPublicKey } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { Pkcs11KeyBackend } from '@sigil/hsm-adapter';
import { createSoftHsmTestToken } from '@sigil/hsm-adapter/testing';
import { WebCryptoKeyBackend } from '@sigil/sdk';

const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (n, s) => say(`\n${n}. ${s}`);
const hex = (b) => Buffer.from(b).toString('hex');
const short = (b) => `${hex(b).slice(0, 16)}…`;
// A fingerprint, so that a shared secret can be compared on screen without being shown.
const fingerprint = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);

say('Sigil: private keys that stay in hardware (PKCS#11, here SoftHSM)');

step(1, 'A throwaway SoftHSM token, in its own temporary directory and configuration');
const token = await createSoftHsmTestToken({ label: 'sigil-walkthrough' });
say(`   module ${token.module}`);
say(`   token  "${token.label}" (found by label, never by slot number)`);

let keys;
try {
  keys = await Pkcs11KeyBackend.open(token.location);

  step(2, 'An identity generated on the token: one key per purpose');
  const signing = await keys.generateKeyPair({ usage: 'sign', label: 'walkthrough device signing key' });
  const agreement = await keys.generateKeyPair({ usage: 'agree', label: 'walkthrough device agreement key' });
  for (const ref of [signing, agreement]) {
    say(`   ${ref.usage.padEnd(5)} key ${ref.id}  "${ref.label}"`);
    say(`         public key ${short(ref.publicKey)} (P-256, 65 bytes); the private half never leaves the token`);
  }

  step(3, 'Sign on the token (ECDSA P-256 / SHA-256), verify two ways');
  const message = new TextEncoder().encode('I, the walk-through device, wrote this.');
  const signature = await keys.sign(signing, message);
  say(`   signature ${short(signature)} (${signature.length} bytes, r || s)`);
  say(`   verified by the token:       ${await keys.verify(signing.publicKey, message, signature)}`);
  const spki = createPublicKey({
    key: Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), signing.publicKey]),
    format: 'der',
    type: 'spki',
  });
  say(`   verified by node:crypto:     ${nodeVerify('sha256', message, { key: spki, dsaEncoding: 'ieee-p1363' }, signature)}`);
  const forged = new TextEncoder().encode('I, the walk-through device, wrote that.');
  say(`   a changed message verifies:  ${await keys.verify(signing.publicKey, forged, signature)}`);

  step(4, 'Agree a secret with a peer (ECDH P-256 on the token; the peer uses WebCrypto)');
  const peer = new WebCryptoKeyBackend();
  const peerKey = await peer.generateKeyPair({ usage: 'agree', label: 'peer' });
  const ours = await keys.deriveSharedSecret(agreement, peerKey.publicKey);
  const theirs = await peer.deriveSharedSecret(peerKey, agreement.publicKey);
  say(`   our secret's fingerprint   ${fingerprint(ours)}`);
  say(`   their secret's fingerprint ${fingerprint(theirs)}`);
  say(`   equal: ${timingSafeEqual(ours, theirs)} (the secrets themselves are not printed)`);

  step(5, 'Can the private key be exported? Ask the token itself');
  const d = await keys.describeKey(signing);
  say(`   Sigil's view: extractable=${d.extractable}, sensitive=${d.sensitive}, hardware slot=${d.hardware} (SoftHSM is software)`);
  showTokenRefuses(token, signing.id);

  step(6, 'Clean up');
  await keys.deleteKey(signing);
  await keys.deleteKey(agreement);
  say('   keys destroyed on the token');
} finally {
  await keys?.close();
  await token.remove();
  say('   token directory removed\n');
}
say('SoftHSM proves the PKCS#11 path, not hardware isolation: on a real HSM the same calls keep the key in the device.');

/**
 * What any PKCS#11 client sees, through raw pkcs11js rather than Sigil: the attributes, and the
 * two ways PKCS#11 offers to get a key's value out (reading CKA_VALUE, C_WrapKey) failing.
 */
function showTokenRefuses(token, id) {
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.label);
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, token.pin);
    } catch (e) {
      if (e.code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw e;
    }
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_ID, value: Buffer.from(id, 'hex') },
    ]);
    const [key] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    const names = ['CKA_EXTRACTABLE', 'CKA_NEVER_EXTRACTABLE', 'CKA_SENSITIVE', 'CKA_ALWAYS_SENSITIVE', 'CKA_LOCAL'];
    const values = lib.C_GetAttributeValue(session, key, names.map((n) => ({ type: pkcs11js[n] })));
    names.forEach((n, i) => say(`   token says ${n.padEnd(22)} ${values[i].value[0] === 1}`));
    try {
      lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]);
      say('   reading CKA_VALUE: the token returned the key (this must never happen)');
    } catch (e) {
      say(`   reading the private value (CKA_VALUE): refused, ${e.message}`);
    }
    const kek = lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_WRAP, value: true },
    ]);
    try {
      lib.C_WrapKey(session, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, kek, key, Buffer.alloc(512));
      say('   wrapping it out under an AES key: the token did it (this must never happen)');
    } catch (e) {
      say(`   wrapping it out under an AES key (C_WrapKey): refused, ${e.message}`);
    } finally {
      lib.C_DestroyObject(session, kek);
    }
  } finally {
    lib.C_CloseSession(session);
  }
}
