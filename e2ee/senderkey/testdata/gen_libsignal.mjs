// Prints wire bytes produced by the official libsignal (the interop oracle's pin, 0.103.0), frozen
// so that the Go unit tests check byte compatibility without Node. Test tooling only (libsignal is
// AGPL and is never linked into Parley). Run from the repository root after `cd interop/oracle && npm ci`:
//
//	node e2ee/senderkey/testdata/gen_libsignal.mjs > e2ee/senderkey/testdata/libsignal_0.103.0.json
//
// The committed libsignal_0.90.0.json came from 0.90.0 and is what the tests read. Its chain keys are
// random, so a rerun changes every byte; 0.103.0 output passed the same tests (with the version check
// in libsignal_test.go pointed at it), so the 0.90.0 file was kept rather than churned.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const oracle = path.join(here, '..', '..', '..', 'interop', 'oracle');
const require = createRequire(path.join(oracle, 'package.json'));
const S = await import(pathToFileURL(require.resolve('@signalapp/libsignal-client')).href);
const pkg = require('@signalapp/libsignal-client/package.json');
const want = '0.103.0';
if (pkg.version !== want) throw new Error(`libsignal-client ${pkg.version} installed, this script expects ${want} (interop/oracle's pin)`);

const hex = (b) => Buffer.from(b).toString('hex');
class Store extends S.SenderKeyStore {
  constructor() { super(); this.m = new Map(); }
  async saveSenderKey(s, d, r) { this.m.set(s.toString() + d, r.serialize()); }
  async getSenderKey(s, d) { const b = this.m.get(s.toString() + d); return b ? S.SenderKeyRecord.deserialize(b) : null; }
}

const sender = S.ProtocolAddress.new('+14151111111', 1);
const distributionId = 'd1d1d1d1-0000-4000-8000-0000000000aa';
const store = new Store();
const skdm = await S.SenderKeyDistributionMessage.create(sender, distributionId, store);
const messages = [];
for (const n of [0, 1, 15, 16, 17, 255, 1000]) {
  const plaintext = Buffer.alloc(n);
  for (let i = 0; i < n; i++) plaintext[i] = (i * 7 + n) & 0xff;
  const c = await S.groupEncrypt(sender, distributionId, store, plaintext);
  messages.push({ plaintext: hex(plaintext), ciphertext: hex(c.serialize()) });
}
// An SKDM made after the messages above: same chain, later iteration, advanced chain key.
const later = await S.SenderKeyDistributionMessage.create(sender, distributionId, store);
const after = await S.groupEncrypt(sender, distributionId, store, Buffer.from('after the later SKDM'));
console.log(JSON.stringify({
  libsignal: pkg.version,
  sender: { name: sender.name(), device_id: sender.deviceId() },
  distribution_id: distributionId,
  skdm: hex(skdm.serialize()),
  chain_id: skdm.chainId(),
  messages,
  later_skdm: hex(later.serialize()),
  later_iteration: later.iteration(),
  after_later: { plaintext: hex(Buffer.from('after the later SKDM')), ciphertext: hex(after.serialize()) },
}, null, 2));
