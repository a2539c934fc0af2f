// Sigil web chat: a person registers with a passkey or a security key, sees the devices of their
// account, sends end-to-end encrypted messages and files through the directory's mailbox, reads
// what was sent to them, and revokes a device. Only @sigil/sdk's public API is used: every key
// comes out of the verifying directory client (pinned log key, proofs, signature chains), and
// every message is decrypted and its sender verified here, in the page.
import { SigilError } from '@sigil/sdk';
import type { MailboxEntry } from '@sigil/sdk/directory';
import { registerWithPasskey, signInWithPasskey, type PasskeySignIn } from '@sigil/sdk/browser';
import type { AccountState } from '@sigil/sdk/identity';
import { directoryUrl, pinnedLogKey } from './config.js';
import { byId, formatBytes, formatTime, h, short } from './dom.js';
import { describeError } from './errors.js';
import { MAX_FILE_BYTES, decodePayload, encodePayload, type ChatPayload } from './payload.js';
import './style.css';

/** A message of the mailbox as this page read it: verified and decrypted, or refused with a reason. */
type Received =
  | { readonly ok: true; readonly id: number; readonly at: number; readonly from: string; readonly deviceId: string; readonly payload: ChatPayload; readonly url: string | undefined }
  | { readonly ok: false; readonly id: number; readonly at: number; readonly claimedFrom: string; readonly code: string; readonly message: string };

interface Sent {
  readonly to: string;
  readonly at: number;
  readonly payload: ChatPayload;
}

const logPublicKey = pinnedLogKey();
let me: PasskeySignIn | undefined;
let received = new Map<number, Received>();
let sent: Sent[] = [];
let busyNow = false;

// ---------------------------------------------------------------------------------------------
// Status and errors

function showError(e: unknown, doing: string): void {
  const err = describeError(e);
  const banner = byId('banner');
  banner.replaceChildren(
    h('strong', { class: 'code', 'data-testid': 'error-code' }, err.code),
    h('span', {}, ` ${doing}: ${err.message}`),
    ...(err.technical === undefined ? [] : [h('small', { class: 'technical' }, err.technical)]),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => (banner.hidden = true) }, '×'),
  );
  banner.className = 'banner error';
  banner.hidden = false;
  setStatus('');
}

function showNotice(text: string): void {
  const banner = byId('banner');
  banner.replaceChildren(h('span', {}, text), h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => (banner.hidden = true) }, '×'));
  banner.className = 'banner notice';
  banner.hidden = false;
}

function setStatus(text: string): void {
  const el = document.getElementById('status');
  if (el !== null) el.textContent = text;
}

/** Runs one user action: buttons disabled meanwhile, a status line, errors into the banner. */
async function run(doing: string, status: string, action: () => Promise<void>): Promise<void> {
  if (busyNow) return;
  busyNow = true;
  document.body.classList.add('busy');
  for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = true;
  byId('banner').hidden = true;
  setStatus(status);
  try {
    await action();
    setStatus('');
  } catch (e) {
    showError(e, doing);
  } finally {
    busyNow = false;
    document.body.classList.remove('busy');
    for (const b of document.querySelectorAll<HTMLButtonElement>('main button')) b.disabled = false;
  }
}

const TOUCH = 'Follow your browser: touch your passkey or security key…';

// ---------------------------------------------------------------------------------------------
// Signed out: register, or sign in (which makes a browser new to the account one of its devices)

function field(id: string, label: string, attrs: Record<string, string | boolean> = {}): HTMLElement {
  return h('label', { for: id }, h('span', {}, label), h('input', { id, name: id, autocomplete: 'off', spellcheck: 'false', ...attrs }));
}

function value(id: string): string {
  return byId<HTMLInputElement>(id).value.trim();
}

function renderSignedOut(): void {
  byId('whoami').hidden = true;
  const app = byId('app');
  app.className = '';
  app.replaceChildren(
    h(
      'section',
      { class: 'card wide intro' },
      h('p', {}, 'No password. Your account is rooted in a passkey or a security key, and this browser makes its own device keys, which cannot leave it. Messages are encrypted here, to keys the directory proves it publishes for everyone alike.'),
      h('p', { id: 'status', class: 'status', 'aria-live': 'polite' }),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Create an account'),
      h(
        'form',
        { id: 'register-form', onsubmit: (ev: Event) => (ev.preventDefault(), void register()) },
        field('register-account', 'Account id', { placeholder: 'alice@example.org', required: true }),
        field('register-name', 'Your name', { placeholder: 'Alice', required: true }),
        field('register-device', 'Name of this device', { value: 'this browser', required: true }),
        h('button', { type: 'submit', id: 'register-button', class: 'primary' }, 'Create with a passkey or security key'),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Sign in'),
      h(
        'form',
        { id: 'signin-form', onsubmit: (ev: Event) => (ev.preventDefault(), void signIn()) },
        field('signin-account', 'Account id (optional with a passkey)', { placeholder: 'alice@example.org' }),
        field('signin-device', 'Name of this device, if it is new to the account', { value: 'second browser', required: true }),
        h('button', { type: 'submit', id: 'signin-button', class: 'primary' }, 'Sign in'),
        h(
          'p',
          { class: 'hint' },
          'A browser new to your account becomes one of its devices. With a PRF passkey it restores your keys from your passkey backup at once; otherwise a device you already use approves it (Devices, "Share keys with new devices").',
        ),
      ),
    ),
  );
  if (logPublicKey === undefined) {
    for (const b of app.querySelectorAll('button')) b.disabled = true;
    showError(new Error('This page was served without a pinned log key, so it cannot verify the directory.'), 'Configuration');
  }
}

function directoryOptions() {
  if (logPublicKey === undefined) throw new Error('no pinned log key');
  return { directory: directoryUrl(), logPublicKey };
}

/** The passkey backup could not be updated (it is retried at the next change): say so. */
function onBackupError(e: unknown): void {
  showError(e, 'Updating your passkey backup (it will be retried)');
}

async function register(): Promise<void> {
  await run('Creating the account', TOUCH, async () => {
    const account = await registerWithPasskey({
      ...directoryOptions(),
      account: value('register-account'),
      displayName: value('register-name'),
      deviceName: value('register-device'),
      onBackupError,
    });
    await signedIn(account);
  });
}

async function signIn(): Promise<void> {
  await run('Signing in', TOUCH, async () => {
    const account = value('signin-account');
    const result = await signInWithPasskey({ ...directoryOptions(), account: account === '' ? undefined : account, deviceName: value('signin-device'), onBackupError });
    await signedIn(result);
    if (result.userKeys === 'passkey-backup') showNotice('This browser is now a device of your account: your keys were restored from your passkey backup.');
    if (result.userKeys === 'awaiting-approval') {
      showNotice('This browser is now a device of your account. Approve it on a device you already use (Devices, "Share keys with new devices") to read your messages here.');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Signed in

async function signedIn(account: PasskeySignIn): Promise<void> {
  me = account;
  received = new Map();
  sent = [];
  renderSignedIn();
  await refreshAll();
}

function signOut(): void {
  for (const r of received.values()) if (r.ok && r.url !== undefined) URL.revokeObjectURL(r.url);
  me = undefined;
  received = new Map();
  sent = [];
  byId('banner').hidden = true;
  renderSignedOut();
}

function current(): PasskeySignIn {
  if (me === undefined) throw new Error('not signed in');
  return me;
}

function renderWhoami(state: AccountState | undefined): void {
  const a = current();
  const device = state?.devices.find((d) => d.id === a.sigil.deviceId);
  const prf = a.mode === 'prf';
  const el = byId('whoami');
  el.replaceChildren(
    h('span', { class: 'account', 'data-testid': 'account' }, a.account),
    h('span', { class: 'device' }, `this device: ${device?.name ?? '…'} (${short(a.sigil.deviceId)})`),
    h(
      'span',
      {
        class: `mode ${prf ? 'prf' : 'no-prf'}`,
        'data-testid': 'mode',
        'data-mode': a.mode,
        title: prf
          ? 'The authenticator gives this page a secret (WebAuthn PRF) that can seal your keys; it never leaves the page.'
          : "This authenticator has no PRF: your device keys rest under the browser's protection alone.",
      },
      prf ? 'Passkey with PRF' : 'Security key, no PRF',
    ),
    ...(a.backup === 'none'
      ? []
      : [
          h(
            'span',
            { class: `badge ${a.backup === 'current' ? '' : 'warn'}`, 'data-testid': 'backup', 'data-backup': a.backup, title: 'Your account keys, sealed under your passkey, kept by the directory for a new browser to restore' },
            a.backup === 'current' ? 'passkey backup' : 'passkey backup failed',
          ),
        ]),
    h('button', { type: 'button', class: 'link', id: 'signout-button', onclick: signOut }, 'Sign out'),
  );
  el.hidden = false;
}

function renderSignedIn(): void {
  renderWhoami(undefined);
  const app = byId('app');
  app.className = 'signed-in';
  const fileInput = h('input', { id: 'send-file', type: 'file' });
  app.replaceChildren(
    h('p', { id: 'status', class: 'status wide', 'aria-live': 'polite' }),
    h(
      'section',
      { class: 'card compose' },
      h('h2', {}, 'Send'),
      h(
        'form',
        { id: 'send-form', onsubmit: (ev: Event) => (ev.preventDefault(), void send()) },
        field('send-to', 'To (account id)', { placeholder: 'bob@example.org', required: true }),
        h('label', { for: 'send-text' }, h('span', {}, 'Message'), h('textarea', { id: 'send-text', rows: 3, placeholder: 'Write something only they can read' })),
        h('label', { for: 'send-file' }, h('span', {}, `File (optional, up to ${formatBytes(MAX_FILE_BYTES)})`), fileInput),
        h('button', { type: 'submit', id: 'send-button', class: 'primary' }, 'Encrypt and send'),
      ),
    ),
    h(
      'section',
      { class: 'card conversation' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Messages'), h('button', { type: 'button', id: 'refresh-button', onclick: () => void refresh() }, 'Refresh')),
      h('ol', { id: 'messages', class: 'messages' }),
    ),
    h(
      'section',
      { class: 'card devices' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Devices')),
      h('ul', { id: 'devices', class: 'devices-list' }),
      h('div', { id: 'device-actions' }),
    ),
  );
  renderMessages();
}

async function refreshAll(): Promise<void> {
  const state = await refreshDevices();
  await readMailbox();
  // A page left open on a device revoked elsewhere: say so (what was sent since is unreadable here).
  if (state.revokedDevices.some((d) => d.id === current().sigil.deviceId)) {
    throw new SigilError('E_KEY_REVOKED', 'This device was revoked from the account.');
  }
}

async function refresh(): Promise<void> {
  await run('Reading messages', 'Reading and verifying messages…', refreshAll);
}

// Devices ---------------------------------------------------------------------------------------

async function refreshDevices(): Promise<AccountState> {
  const a = current();
  // Through the verified path: the devices are what the account's root signed, proved in the log.
  const { state } = await a.sigil.directory.lookup(a.account);
  renderWhoami(state);
  const holders = state.userKey?.wraps ?? new Map<string, Uint8Array>();
  const waiting = state.devices.filter((d) => !holders.has(d.id));
  const list = byId('devices');
  list.replaceChildren(
    ...state.devices.map((d) => {
      const mine = d.id === a.sigil.deviceId;
      return h(
        'li',
        { 'data-testid': 'device', 'data-device-id': d.id, 'data-device-name': d.name, class: mine ? 'mine' : undefined },
        h('span', { class: 'name' }, d.name),
        h('code', { title: d.id }, short(d.id)),
        mine ? h('span', { class: 'badge' }, 'this device') : undefined,
        holders.has(d.id) ? undefined : h('span', { class: 'badge warn' }, 'waiting for approval'),
        mine ? undefined : h('button', { type: 'button', class: 'danger', 'data-testid': 'revoke', onclick: () => void revoke(d.id, d.name) }, 'Revoke'),
        h('small', {}, `added ${formatTime(d.createdAt)}`),
      );
    }),
    ...state.revokedDevices.map((d) =>
      h(
        'li',
        { 'data-testid': 'revoked-device', 'data-device-id': d.id, class: 'revoked' },
        h('span', { class: 'name' }, d.name),
        h('code', { title: d.id }, short(d.id)),
        h('span', { class: 'badge' }, `revoked ${formatTime(d.revokedTime)}`),
      ),
    ),
  );
  byId('device-actions').replaceChildren(
    waiting.length === 0
      ? h('p', { class: 'hint' }, `Every device holds the account's current key (epoch ${state.userKey?.epoch ?? '–'}).`)
      : h(
          'p',
          { class: 'hint' },
          `${waiting.length} device${waiting.length === 1 ? '' : 's'} cannot read messages yet. `,
          h('button', { type: 'button', id: 'approve-button', onclick: () => void approve() }, 'Share keys with new devices'),
        ),
  );
  return state;
}

async function approve(): Promise<void> {
  await run('Sharing keys', 'Opening a new account key for every current device…', async () => {
    await current().sigil.rotate();
    await refreshDevices();
  });
}

async function revoke(deviceId: string, name: string): Promise<void> {
  await run(`Revoking ${name}`, TOUCH, async () => {
    const a = current();
    // The account root (this passkey / security key) signs the revocation; the SDK then opens a
    // new account key that the revoked device does not hold.
    await a.sigil.revokeDevice(deviceId, { root: a.root });
    await refreshDevices();
    showNotice(`${name} is revoked: it cannot read anything sent from now on.`);
  });
}

// Messages --------------------------------------------------------------------------------------

function timeOf(m: MailboxEntry): number {
  const t = typeof m.createdAt === 'number' ? m.createdAt : Date.parse(m.createdAt);
  return Number.isFinite(t) ? t : Date.now();
}

async function readMailbox(): Promise<void> {
  const a = current();
  const entries = await a.sigil.list();
  for (const m of entries) {
    // Read once; one that failed is tried again (the device may have been approved since).
    if (received.get(m.id)?.ok === true) continue;
    try {
      // Decrypts and checks that the signing key is a current device of the sender account named
      // in the signed header (and that it is the account the mailbox says): nothing unverified.
      const { plaintext, sender } = await a.sigil.decrypt(m.envelope, { from: m.senderId });
      const payload = decodePayload(plaintext);
      // application/octet-stream and a download link: a file is never rendered in this origin.
      const url = payload.file === undefined ? undefined : URL.createObjectURL(new Blob([payload.file.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      received.set(m.id, { ok: true, id: m.id, at: timeOf(m), from: sender.accountId, deviceId: sender.deviceId, payload, url });
    } catch (e) {
      const err = describeError(e);
      received.set(m.id, { ok: false, id: m.id, at: timeOf(m), claimedFrom: m.senderId, code: err.code, message: err.message });
    }
  }
  renderMessages();
}

async function send(): Promise<void> {
  await run('Sending', 'Looking up the recipient, encrypting and sending…', async () => {
    const a = current();
    const to = value('send-to');
    const textArea = byId<HTMLTextAreaElement>('send-text');
    const fileInput = byId<HTMLInputElement>('send-file');
    const picked = fileInput.files?.[0];
    if (to === '') throw new RangeError('Enter the account id of the recipient.');
    if (textArea.value.trim() === '' && picked === undefined) throw new RangeError('Write a message or choose a file.');
    if (picked !== undefined && picked.size > MAX_FILE_BYTES) throw new RangeError(`The file is ${formatBytes(picked.size)}; this app sends up to ${formatBytes(MAX_FILE_BYTES)}.`);
    const file = picked === undefined ? undefined : { name: picked.name, bytes: new Uint8Array(await picked.arrayBuffer()) };
    const payload: ChatPayload = { text: textArea.value, file };
    // Encrypted to the recipient's current account key, looked up through the verified path.
    await a.sigil.send(to, encodePayload(payload));
    sent.push({ to, at: Date.now(), payload });
    textArea.value = '';
    fileInput.value = '';
    renderMessages();
    setStatus('');
    showNotice(`Sent to ${to}, end-to-end encrypted.`);
  });
}

async function remove(id: number): Promise<void> {
  await run('Deleting', 'Deleting…', async () => {
    await current().sigil.delete(id);
    const r = received.get(id);
    if (r?.ok === true && r.url !== undefined) URL.revokeObjectURL(r.url);
    received.delete(id);
    renderMessages();
  });
}

function fileLink(file: NonNullable<ChatPayload['file']>, url: string | undefined): HTMLElement {
  const label = `${file.name} (${formatBytes(file.bytes.length)})`;
  return url === undefined
    ? h('span', { class: 'file' }, label)
    : h('a', { class: 'file', href: url, download: file.name, 'data-testid': 'file' }, label);
}

function renderMessages(): void {
  const list = document.getElementById('messages');
  if (list === null) return;
  type Item = { at: number; el: HTMLElement };
  const items: Item[] = [];
  for (const r of received.values()) {
    if (r.ok) {
      items.push({
        at: r.at,
        el: h(
          'li',
          { class: 'msg in', 'data-testid': 'received', 'data-from': r.from },
          h(
            'div',
            { class: 'meta' },
            h('span', { class: 'who' }, r.from),
            h('span', { class: 'verified', title: `Signed by device ${r.deviceId} of ${r.from}, verified against the directory's log` }, `✓ verified device ${short(r.deviceId)}`),
            h('time', {}, formatTime(r.at)),
            h('button', { type: 'button', class: 'link', onclick: () => void remove(r.id) }, 'Delete'),
          ),
          r.payload.text === '' ? undefined : h('p', { class: 'text', 'data-testid': 'text' }, r.payload.text),
          r.payload.file === undefined ? undefined : fileLink(r.payload.file, r.url),
        ),
      });
    } else {
      items.push({
        at: r.at,
        el: h(
          'li',
          { class: 'msg in bad', 'data-testid': 'unreadable', 'data-code': r.code },
          h(
            'div',
            { class: 'meta' },
            h('span', { class: 'who' }, `${r.claimedFrom} (unverified)`),
            h('time', {}, formatTime(r.at)),
            h('button', { type: 'button', class: 'link', onclick: () => void remove(r.id) }, 'Delete'),
          ),
          h('p', { class: 'text' }, h('strong', { class: 'code' }, r.code), ` ${r.message}`),
        ),
      });
    }
  }
  for (const s of sent) {
    items.push({
      at: s.at,
      el: h(
        'li',
        { class: 'msg out', 'data-testid': 'sent', 'data-to': s.to },
        h('div', { class: 'meta' }, h('span', { class: 'who' }, `to ${s.to}`), h('time', {}, formatTime(s.at))),
        s.payload.text === '' ? undefined : h('p', { class: 'text' }, s.payload.text),
        s.payload.file === undefined ? undefined : fileLink(s.payload.file, undefined),
      ),
    });
  }
  items.sort((x, y) => x.at - y.at);
  list.replaceChildren(
    ...(items.length === 0 ? [h('li', { class: 'empty' }, 'No messages yet. What you send in this session and what others send you shows here.')] : items.map((i) => i.el)),
  );
}

// ---------------------------------------------------------------------------------------------

function renderFooter(): void {
  byId('pinned-key').textContent =
    logPublicKey === undefined ? 'No pinned log key.' : `Directory: ${directoryUrl()} · pinned log key ${logPublicKey.split('+')[0] ?? ''} +${logPublicKey.split('+')[1] ?? ''}`;
}

renderFooter();
renderSignedOut();
