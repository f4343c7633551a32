// Regenerates libsignal_vectors.json from the pinned test-only oracle
// (@signalapp/libsignal-client 0.103.0, installed in interop/oracle by
// `npm ci` there). Run from the repository root:
//
//   NODE_PATH=interop/oracle/node_modules node e2ee/curve/testdata/gen_libsignal.mjs > e2ee/curve/testdata/libsignal_vectors.json
//
// The committed file came from 0.90.0. The keys and messages are random, so
// a rerun rewrites every line; output from 0.103.0 passed the same Go tests
// with the same verdicts on the malleable and edge cases, so the file was
// kept rather than churned.
//
// Only the public npm API is used: keys, signatures and agreements are
// observed outputs, recorded as data.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
const require = createRequire(process.cwd() + '/interop/oracle/');
const S = require('@signalapp/libsignal-client');
const want = '0.103.0';
const have = require('@signalapp/libsignal-client/package.json').version;
if (have !== want) throw new Error(`libsignal-client ${have} installed, this script expects ${want} (interop/oracle's pin)`);

const hex = (b) => Buffer.from(b).toString('hex');
const u8 = (b) => new Uint8Array(Buffer.from(b));
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

const out = { source: '@signalapp/libsignal-client ' + require('@signalapp/libsignal-client/package.json').version, keys: [], signatures: [], agreements: [], malleable: [], edge: [] };

// Raw private bytes as given to PrivateKey.deserialize (unclamped on purpose
// for most), the clamped bytes libsignal stores, and its public key.
const raws = [Buffer.alloc(32, 0), Buffer.alloc(32, 0xff)];
for (let i = 0; i < 14; i++) raws.push(randomBytes(32));
for (const raw of raws) {
  const k = S.PrivateKey.deserialize(u8(raw));
  out.keys.push({ raw: hex(raw), clamped: hex(k.serialize()), public: hex(k.getPublicKey().serialize()) });
}

// Signatures by libsignal over assorted messages; keep going until both
// sign-bit values of A have been seen several times.
const msgs = [Buffer.alloc(0), Buffer.from('a'), randomBytes(33), randomBytes(1000), randomBytes(4096)];
let bits = [0, 0];
for (let i = 0; i < 48 || bits[0] < 8 || bits[1] < 8; i++) {
  const k = S.PrivateKey.generate();
  const m = msgs[i % msgs.length];
  const sig = k.sign(u8(m));
  bits[sig[63] >> 7]++;
  out.signatures.push({ private: hex(k.serialize()), public: hex(k.getPublicKey().serialize()), msg: hex(m), sig: hex(sig) });
}

// X25519 agreements.
for (let i = 0; i < 16; i++) {
  const a = S.PrivateKey.generate();
  const b = S.PrivateKey.generate();
  out.agreements.push({ private: hex(a.serialize()), public: hex(b.getPublicKey().serialize()), shared: hex(a.agree(b.getPublicKey())) });
}

// s + ℓ (still < 2^253): what libsignal's verifier says about a
// non-canonical s. Recorded so our deliberate strictness stays documented.
for (let i = 0; i < 8; i++) {
  const k = S.PrivateKey.generate();
  const m = randomBytes(40);
  const sig = Buffer.from(k.sign(u8(m)));
  const sign = sig[63] & 0x80;
  sig[63] &= 0x7f;
  let s = 0n;
  for (let j = 31; j >= 0; j--) s = (s << 8n) | BigInt(sig[32 + j]);
  s += L;
  for (let j = 0; j < 32; j++) { sig[32 + j] = Number(s & 0xffn); s >>= 8n; }
  sig[63] |= sign;
  out.malleable.push({ public: hex(k.getPublicKey().serialize()), msg: hex(m), sig: hex(sig), libsignal_verifies: k.getPublicKey().verify(u8(m), u8(sig)) });
}
// Edge cases and libsignal's verdicts on them.
// (1) The small-order key u = 0 (A = (0, −1)) with R = identity and s = 0,
//     with and without the sign bit: no key-order check, so h even passes.
const identity = Buffer.alloc(32); identity[0] = 1;
for (let i = 0; i < 16; i++) {
  for (const bit of [0, 0x80]) {
    const sig = Buffer.concat([identity, Buffer.alloc(32)]); sig[63] |= bit;
    const pub = Buffer.concat([Buffer.from([5]), Buffer.alloc(32)]);
    const m = Buffer.from([i]);
    out.edge.push({ kind: 'u0-identity', public: hex(pub), msg: hex(m), sig: hex(sig), libsignal_verifies: S.PublicKey.deserialize(u8(pub)).verify(u8(m), u8(sig)) });
  }
}
// (2) An honest key with bit 255 of u set: libsignal masks the bit.
// (3) s with bit 253 or 254 set after removing the sign bit.
for (let i = 0; i < 8; i++) {
  const k = S.PrivateKey.generate();
  const m = randomBytes(20);
  const sig = Buffer.from(k.sign(u8(m)));
  const pub = Buffer.from(k.getPublicKey().serialize()); pub[32] |= 0x80;
  out.edge.push({ kind: 'public-bit255', public: hex(pub), msg: hex(m), sig: hex(sig), libsignal_verifies: S.PublicKey.deserialize(u8(pub)).verify(u8(m), u8(sig)) });
  const big = Buffer.from(sig); big[63] |= (i % 2 ? 0x40 : 0x20);
  out.edge.push({ kind: 's-high-bits', public: hex(k.getPublicKey().serialize()), msg: hex(m), sig: hex(big), libsignal_verifies: k.getPublicKey().verify(u8(m), u8(big)) });
}
console.log(JSON.stringify(out, null, 1));
