// Captures libsignal-0.103.0-transcript.json from the interop oracle's pinned libsignal (run from the
// repository root after 'npm ci' in interop/oracle):
//   node e2ee/spqr/testdata/capture-transcript.mjs > e2ee/spqr/testdata/libsignal-0.103.0-transcript.json
// libsignal-0.90.0-transcript.json was made by the 0.90 form of this script (0.103 added the local
// address to processPreKeyBundle, signalEncrypt and signalDecrypt*); both files stay as test data.
// Two libsignal parties talk through in-memory stores; their session records are read with a
// minimal protobuf walk (SessionStructure field 15 = pq_ratchet_state) for the SPQR auth key, each
// epoch's ML-KEM decapsulation key and the chain's next_root. Test data only; not linked anywhere.
import * as S from '../../../interop/oracle/node_modules/@signalapp/libsignal-client/dist/index.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
const want = '0.103.0';
const pkg = JSON.parse(readFileSync(new URL('../../../interop/oracle/node_modules/@signalapp/libsignal-client/package.json', import.meta.url)));
if (pkg.version !== want) throw new Error(`libsignal-client ${pkg.version} installed, this script captures ${want}`);
const mk = (name) => {
  const st = { idKey: S.IdentityKeyPair.generate(), sessions: new Map(), pre: new Map(), spk: new Map(), kyber: new Map(), address: S.ProtocolAddress.new(name, 1) };
  st.sessionStore = new (class extends S.SessionStore { async saveSession(a, r) { st.sessions.set(a.toString(), r); } async getSession(a) { return st.sessions.get(a.toString()) ?? null; } async getExistingSessions(as) { return as.map(a => st.sessions.get(a.toString())); } })();
  st.identityStore = new (class extends S.IdentityKeyStore { async getIdentityKey() { return st.idKey.privateKey; } async getLocalRegistrationId() { return 42; } async saveIdentity() { return S.IdentityChange.NewOrUnchanged; } async isTrustedIdentity() { return true; } async getIdentity() { return null; } })();
  st.preKeyStore = new (class extends S.PreKeyStore { async savePreKey(i, r) { st.pre.set(i, r); } async getPreKey(i) { return st.pre.get(i); } async removePreKey(i) { st.pre.delete(i); } })();
  st.signedPreKeyStore = new (class extends S.SignedPreKeyStore { async saveSignedPreKey(i, r) { st.spk.set(i, r); } async getSignedPreKey(i) { return st.spk.get(i); } })();
  st.kyberPreKeyStore = new (class extends S.KyberPreKeyStore { async saveKyberPreKey(i, r) { st.kyber.set(i, r); } async getKyberPreKey(i) { return st.kyber.get(i); } async markKyberPreKeyUsed() {} })();
  return st;
};
const bundleOf = (b) => { const pk = S.PrivateKey.generate(), spk = S.PrivateKey.generate(), ky = S.KEMKeyPair.generate();
  const s1 = b.idKey.privateKey.sign(spk.getPublicKey().serialize()), s2 = b.idKey.privateKey.sign(ky.getPublicKey().serialize());
  b.pre.set(1, S.PreKeyRecord.new(1, pk.getPublicKey(), pk)); b.spk.set(2, S.SignedPreKeyRecord.new(2, 0, spk.getPublicKey(), spk, s1)); b.kyber.set(3, S.KyberPreKeyRecord.new(3, 0, ky, s2));
  return S.PreKeyBundle.new(42, 1, 1, pk.getPublicKey(), 2, spk.getPublicKey(), s1, b.idKey.publicKey, 3, ky.getPublicKey(), s2); };
// Minimal protobuf walk: fields of one message as {num: [values]} (varint -> BigInt, bytes -> Uint8Array).
const fields = (buf) => { const out = {}; let at = 0; const rv = () => { let v = 0n, s = 0n; for (;;) { const b = buf[at++]; v |= BigInt(b & 0x7f) << s; s += 7n; if (!(b & 0x80)) return v; } };
  while (at < buf.length) { const key = Number(rv()); const num = key >> 3, wt = key & 7; let val;
    if (wt === 0) val = rv(); else if (wt === 2) { const n = Number(rv()); val = buf.subarray(at, at + n); at += n; } else if (wt === 1) { val = buf.subarray(at, at + 8); at += 8; } else if (wt === 5) { val = buf.subarray(at, at + 4); at += 4; } else throw new Error('wire type ' + wt);
    (out[num] ??= []).push(val); } return out; };
const hex = (b) => Buffer.from(b).toString('hex');
async function run(pattern, n) {
  const a = mk(randomUUID()), b = mk(randomUUID());
  await S.processPreKeyBundle(bundleOf(b), b.address, a.address, a.sessionStore, a.identityStore);
  const rec = a.sessions.get(b.address.toString()).serialize();
  const pqState = fields(fields(fields(rec)[1][0])[15][0]);
  const authKey = fields(pqState[1][0])[1][0];
  const msgs = [];
  const dks = {}, roots = {};
  const inspect = (party) => {
    const r = party.sessions.get((party === a ? b : a).address.toString());
    if (!r) return;
    const sess = fields(fields(r.serialize())[1][0]);
    if (!sess[15]) return;
    const pq = fields(sess[15][0]);
    if (pq[2]) { const ch = fields(pq[2][0]); const ep = Number(ch[2] ? ch[2][0] : 0n); roots[ep] = hex(ch[4][0]); }
    if (pq[3]) { const v1 = fields(pq[3][0]); for (const f of [3, 4, 5]) if (v1[f]) { const uc = fields(fields(v1[f][0])[1][0]); const ep = Number(uc[1][0]); dks[ep] = hex(uc[3][0]); } }
  };
  for (let k = 0; k < n; k++) {
    const aliceSends = pattern(k);
    const [f, t] = aliceSends ? [a, b] : [b, a];
    const c = await S.signalEncrypt(new Uint8Array(16), t.address, f.address, f.sessionStore, f.identityStore);
    let inner;
    if (c.type() === 3) { const p = S.PreKeySignalMessage.deserialize(c.serialize()); inner = fields(c.serialize().subarray(1))[4][0]; await S.signalDecryptPreKey(p, f.address, t.address, t.sessionStore, t.identityStore, t.preKeyStore, t.signedPreKeyStore, t.kyberPreKeyStore); }
    else { const sm = S.SignalMessage.deserialize(c.serialize()); inner = c.serialize(); await S.signalDecrypt(sm, f.address, t.address, t.sessionStore, t.identityStore); }
    const sm = fields(inner.subarray(1, inner.length - 8));
    msgs.push((aliceSends ? 'A' : 'B') + ' ' + hex(sm[5] ? sm[5][0] : new Uint8Array()));
    inspect(a); inspect(b);
  }
  return { authKey: hex(authKey), msgs, dks, roots };
}
const out = { pingpong: await run((k) => k % 2 === 0, 400), aliceheavy: await run((k) => k % 10 !== 5, 800) };
console.log(JSON.stringify(out, null, 1));
