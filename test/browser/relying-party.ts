// A minimal WebAuthn relying party in Node for the browser tests, on @simplewebauthn/server (the
// library the directory server uses): ES256 only, UV required. It checks that what the page
// sends is exactly what a real server verifies, before the directory server exists.
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { TEST_WEBAUTHN_TIMEOUT_MS } from '../support/browser.js';
import { signInChallenge } from '../support/soft-webauthn.js';

export class TestRelyingParty {
  readonly rpId = 'localhost';
  readonly credentials = new Map<string, WebAuthnCredential>();
  #challenge: string | undefined;

  constructor(readonly origin: string) {}

  async registrationOptions(userName: string, residentKey: 'required' | 'discouraged' = 'required'): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: 'Sigil tests',
      rpID: this.rpId,
      userName,
      timeout: TEST_WEBAUTHN_TIMEOUT_MS,
      attestationType: 'none',
      supportedAlgorithmIDs: [-7],
      authenticatorSelection: { residentKey, userVerification: 'required' },
    });
    this.#challenge = options.challenge;
    return options;
  }

  /** Verifies and remembers the credential; throws if verification fails. */
  async verifyRegistration(response: RegistrationResponseJSON): Promise<WebAuthnCredential & { backedUp: boolean }> {
    const expectedChallenge = this.#take();
    const v = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      requireUserVerification: true,
      supportedAlgorithmIDs: [-7],
    });
    if (!v.verified) throw new Error('registration not verified');
    const credential = v.registrationInfo.credential;
    this.credentials.set(credential.id, credential);
    return { ...credential, backedUp: v.registrationInfo.credentialBackedUp };
  }

  async authenticationOptions(allow?: readonly string[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      timeout: TEST_WEBAUTHN_TIMEOUT_MS,
      userVerification: 'required',
      ...(allow === undefined ? {} : { allowCredentials: allow.map((id) => ({ id })) }),
    });
    // As the directory does: the options carry a nonce, and the page signs its sign-in form.
    this.#challenge = Buffer.from(signInChallenge(new Uint8Array(Buffer.from(options.challenge, 'base64url')))).toString('base64url');
    return options;
  }

  /** Verifies an assertion and updates the stored counter; throws if verification fails. */
  async verifyAuthentication(response: AuthenticationResponseJSON): Promise<void> {
    const expectedChallenge = this.#take();
    const credential = this.credentials.get(response.id);
    if (credential === undefined) throw new Error('unknown credential');
    const v = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      credential,
      requireUserVerification: true,
    });
    if (!v.verified) throw new Error('authentication not verified');
    this.credentials.set(credential.id, { ...credential, counter: v.authenticationInfo.newCounter });
  }

  // Challenges are single use, as on the real server.
  #take(): string {
    const c = this.#challenge;
    this.#challenge = undefined;
    if (c === undefined) throw new Error('no outstanding challenge');
    return c;
  }
}
