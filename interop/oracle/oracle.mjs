// Parley's interop oracle: the official libsignal (@signalapp/libsignal-client,
// AGPL-3.0-only) driven over JSON lines on stdin/stdout, so that Go tests can
// check our own Signal implementation against the real thing byte for byte.
// It is test-only: nothing in Parley links or ships it. interop/README.md
// documents the protocol and every operation.
//
// One request per line:  {"id":N,"op":"...","args":{...}}
// One answer per line:   {"id":N,"ok":true,"result":{...}}
//                     or {"id":N,"ok":false,"error":"<Class>: message","operation":"..."}
// Binary values are standard padded base64. Requests are handled strictly one
// after another, so answers come back in request order.

import * as S from '@signalapp/libsignal-client';
// The server-side v2 parser is not re-exported by the package index.
import SealedSenderMultiRecipientMessage from '@signalapp/libsignal-client/dist/SealedSenderMultiRecipientMessage.js';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

// stdout carries the protocol: anything else that wants to print goes to stderr.
for (const k of ['log', 'info', 'warn', 'debug']) console[k] = (...a) => console.error(...a);

// libsignal explains most failures (for example why a MAC or a decryption
// failed) only in its log, which is worth having when an interop test breaks.
{
  const levels = { error: S.LogLevel.Error, warn: S.LogLevel.Warn, info: S.LogLevel.Info, debug: S.LogLevel.Debug, trace: S.LogLevel.Trace };
  const want = levels[(process.env.ORACLE_LOG_LEVEL || 'warn').toLowerCase()];
  if (want !== undefined) {
    S.initLogger(want, (level, target, file, line, message) => {
      process.stderr.write(`libsignal[${S.LogLevel[level]}] ${target} ${file ?? ''}:${line ?? ''} ${message}\n`);
    });
  }
}

const LIBSIGNAL_VERSION = JSON.parse(
  readFileSync(new URL('./node_modules/@signalapp/libsignal-client/package.json', import.meta.url), 'utf8'),
).version;

// A request the oracle cannot even try: missing or malformed arguments,
// unknown party or op. Distinct from errors libsignal itself reports.
class BadRequest extends Error {
  constructor(message) { super(message); this.name = 'BadRequest'; }
}

// ---------------------------------------------------------------- arguments

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64(u8) { return Buffer.from(u8).toString('base64'); }

function unb64(s, what) {
  if (typeof s !== 'string' || !B64.test(s)) throw new BadRequest(`${what}: not standard padded base64`);
  // A fresh Uint8Array: Buffers can share a pooled ArrayBuffer.
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function has(obj, key) { return obj != null && obj[key] !== undefined && obj[key] !== null; }

function need(obj, key, where = 'args') {
  if (!has(obj, key)) throw new BadRequest(`${where}.${key} is required`);
  return obj[key];
}

function bytes(obj, key, where = 'args') { return unb64(need(obj, key, where), `${where}.${key}`); }

// Payloads may be empty; Go encodes a nil []byte as null, so null means empty.
function payload(obj, key, where = 'args') { return has(obj, key) ? unb64(obj[key], `${where}.${key}`) : new Uint8Array(0); }

function optBytes(obj, key, where = 'args') { return has(obj, key) ? unb64(obj[key], `${where}.${key}`) : null; }

function int(obj, key, where = 'args') {
  const v = need(obj, key, where);
  if (!Number.isSafeInteger(v) || v < 0) throw new BadRequest(`${where}.${key} must be a non-negative integer`);
  return v;
}

function optInt(obj, key, where = 'args') { return has(obj, key) ? int(obj, key, where) : null; }

function str(obj, key, where = 'args') {
  const v = need(obj, key, where);
  if (typeof v !== 'string') throw new BadRequest(`${where}.${key} must be a string`);
  return v;
}

function address(obj, key) {
  const a = need(obj, key);
  if (typeof a !== 'object') throw new BadRequest(`args.${key} must be {name, deviceId}`);
  return S.ProtocolAddress.new(str(a, 'name', `args.${key}`), int(a, 'deviceId', `args.${key}`));
}

function optNow(args) { return has(args, 'now') ? new Date(int(args, 'now')) : undefined; }

// ---------------------------------------------------------------- parties

function addrKey(a) { return `${a.name()}.${a.deviceId()}`; }

function sameBytes(a, b) { return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0; }

// A party is one libsignal device: identity, registration id, address and
// in-memory stores. Every record is kept serialized, so exportState is a copy.
class Party {
  constructor(name, deviceId, registrationId, identityKeyPair) {
    this.name = name;
    this.deviceId = deviceId;
    this.address = S.ProtocolAddress.new(name, deviceId);
    this.registrationId = registrationId;
    this.identity = identityKeyPair;
    this.sessions = new Map();      // addrKey -> {name, deviceId, record}
    this.identities = new Map();    // addrKey -> {name, deviceId, key}
    this.preKeys = new Map();       // id -> record
    this.signedPreKeys = new Map(); // id -> record
    this.kyberPreKeys = new Map();  // id -> record
    this.senderKeys = new Map();    // addrKey|distributionId -> {name, deviceId, distributionId, record}
    this.kyberUsed = [];            // markKyberPreKeyUsed calls, for tests to check what libsignal saw
    this.nextPreKeyId = 1;
    this.nextSignedPreKeyId = 1;
    this.nextKyberPreKeyId = 1;

    const p = this;
    this.sessionStore = new (class extends S.SessionStore {
      async saveSession(a, r) { p.sessions.set(addrKey(a), { name: a.name(), deviceId: a.deviceId(), record: r.serialize() }); }
      async getSession(a) { const e = p.sessions.get(addrKey(a)); return e ? S.SessionRecord.deserialize(e.record) : null; }
      async getExistingSessions(as) {
        return as.map((a) => {
          const e = p.sessions.get(addrKey(a));
          if (!e) throw new Error(`no session for ${addrKey(a)}`);
          return S.SessionRecord.deserialize(e.record);
        });
      }
    })();
    this.identityStore = new (class extends S.IdentityKeyStore {
      async getIdentityKey() { return p.identity.privateKey; }
      async getIdentityKeyPair() { return p.identity; }
      async getLocalRegistrationId() { return p.registrationId; }
      async saveIdentity(a, k) { return p.saveIdentity(a, k.serialize()); }
      // Trust on first use, like libsignal's own in-memory store.
      async isTrustedIdentity(a, k) { const e = p.identities.get(addrKey(a)); return !e || sameBytes(e.key, k.serialize()); }
      async getIdentity(a) { const e = p.identities.get(addrKey(a)); return e ? S.PublicKey.deserialize(e.key) : null; }
    })();
    this.preKeyStore = new (class extends S.PreKeyStore {
      async savePreKey(id, r) { p.preKeys.set(id, r.serialize()); }
      async getPreKey(id) { const b = p.preKeys.get(id); if (!b) throw new Error(`no prekey ${id}`); return S.PreKeyRecord.deserialize(b); }
      async removePreKey(id) { p.preKeys.delete(id); }
    })();
    this.signedPreKeyStore = new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(id, r) { p.signedPreKeys.set(id, r.serialize()); }
      async getSignedPreKey(id) { const b = p.signedPreKeys.get(id); if (!b) throw new Error(`no signed prekey ${id}`); return S.SignedPreKeyRecord.deserialize(b); }
    })();
    this.kyberPreKeyStore = new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(id, r) { p.kyberPreKeys.set(id, r.serialize()); }
      async getKyberPreKey(id) { const b = p.kyberPreKeys.get(id); if (!b) throw new Error(`no kyber prekey ${id}`); return S.KyberPreKeyRecord.deserialize(b); }
      // Kept, not deleted: the oracle's Kyber prekeys behave as last-resort keys.
      async markKyberPreKeyUsed(id, signedPreKeyId, baseKey) { p.kyberUsed.push({ kyberPreKeyId: id, signedPreKeyId, baseKey: b64(baseKey.serialize()) }); }
    })();
    this.senderKeyStore = new (class extends S.SenderKeyStore {
      async saveSenderKey(a, d, r) { p.senderKeys.set(`${addrKey(a)}|${d}`, { name: a.name(), deviceId: a.deviceId(), distributionId: d, record: r.serialize() }); }
      async getSenderKey(a, d) { const e = p.senderKeys.get(`${addrKey(a)}|${d}`); return e ? S.SenderKeyRecord.deserialize(e.record) : null; }
    })();
  }

  saveIdentity(a, key) {
    const k = addrKey(a);
    const old = this.identities.get(k);
    this.identities.set(k, { name: a.name(), deviceId: a.deviceId(), key });
    return old && !sameBytes(old.key, key) ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }

  summary(handle) {
    return { party: handle, name: this.name, deviceId: this.deviceId, identityKey: b64(this.identity.publicKey.serialize()), registrationId: this.registrationId };
  }

  exportState() {
    const list = (m, f) => [...m.values()].map(f);
    const ids = (m) => [...m.entries()].map(([id, record]) => ({ id, record: b64(record) }));
    return {
      format: 1,
      name: this.name,
      deviceId: this.deviceId,
      registrationId: this.registrationId,
      identityKeyPair: b64(this.identity.serialize()),
      nextPreKeyId: this.nextPreKeyId,
      nextSignedPreKeyId: this.nextSignedPreKeyId,
      nextKyberPreKeyId: this.nextKyberPreKeyId,
      sessions: list(this.sessions, (e) => ({ name: e.name, deviceId: e.deviceId, record: b64(e.record) })),
      identities: list(this.identities, (e) => ({ name: e.name, deviceId: e.deviceId, key: b64(e.key) })),
      preKeys: ids(this.preKeys),
      signedPreKeys: ids(this.signedPreKeys),
      kyberPreKeys: ids(this.kyberPreKeys),
      senderKeys: list(this.senderKeys, (e) => ({ name: e.name, deviceId: e.deviceId, distributionId: e.distributionId, record: b64(e.record) })),
      kyberUsed: this.kyberUsed.map((c) => ({ ...c })),
    };
  }

  static importState(st) {
    if (typeof st !== 'object' || st === null) throw new BadRequest('args.state must be an object');
    if (st.format !== 1) throw new BadRequest(`args.state.format ${st.format} is not supported`);
    const w = 'args.state';
    const p = new Party(str(st, 'name', w), int(st, 'deviceId', w), int(st, 'registrationId', w),
      S.IdentityKeyPair.deserialize(bytes(st, 'identityKeyPair', w)));
    p.nextPreKeyId = int(st, 'nextPreKeyId', w);
    p.nextSignedPreKeyId = int(st, 'nextSignedPreKeyId', w);
    p.nextKyberPreKeyId = int(st, 'nextKyberPreKeyId', w);
    const each = (key, f) => (st[key] ?? []).forEach((e, i) => f(e, `${w}.${key}[${i}]`));
    // Deserializing each record on the way in rejects a corrupt state now
    // rather than at some later decrypt.
    each('sessions', (e, x) => {
      const a = S.ProtocolAddress.new(str(e, 'name', x), int(e, 'deviceId', x));
      p.sessions.set(addrKey(a), { name: a.name(), deviceId: a.deviceId(), record: S.SessionRecord.deserialize(bytes(e, 'record', x)).serialize() });
    });
    each('identities', (e, x) => {
      const a = S.ProtocolAddress.new(str(e, 'name', x), int(e, 'deviceId', x));
      p.identities.set(addrKey(a), { name: a.name(), deviceId: a.deviceId(), key: S.PublicKey.deserialize(bytes(e, 'key', x)).serialize() });
    });
    each('preKeys', (e, x) => p.preKeys.set(int(e, 'id', x), S.PreKeyRecord.deserialize(bytes(e, 'record', x)).serialize()));
    each('signedPreKeys', (e, x) => p.signedPreKeys.set(int(e, 'id', x), S.SignedPreKeyRecord.deserialize(bytes(e, 'record', x)).serialize()));
    each('kyberPreKeys', (e, x) => p.kyberPreKeys.set(int(e, 'id', x), S.KyberPreKeyRecord.deserialize(bytes(e, 'record', x)).serialize()));
    each('senderKeys', (e, x) => {
      const a = S.ProtocolAddress.new(str(e, 'name', x), int(e, 'deviceId', x));
      const d = str(e, 'distributionId', x);
      p.senderKeys.set(`${addrKey(a)}|${d}`, { name: a.name(), deviceId: a.deviceId(), distributionId: d, record: S.SenderKeyRecord.deserialize(bytes(e, 'record', x)).serialize() });
    });
    each('kyberUsed', (e, x) => p.kyberUsed.push({ kyberPreKeyId: int(e, 'kyberPreKeyId', x), signedPreKeyId: int(e, 'signedPreKeyId', x), baseKey: need(e, 'baseKey', x) }));
    return p;
  }
}

const parties = new Map();

function party(args, key = 'party') {
  const h = str(args, key);
  const p = parties.get(h);
  if (!p) throw new BadRequest(`unknown party ${JSON.stringify(h)}`);
  return p;
}

// ---------------------------------------------------------------- protobuf

// libsignal's Node API exposes only some message fields; the rest (ratchet key,
// base key, Kyber ciphertext...) are read from the proto2 body here so that
// tests can compare them with what the Go side sent. Unknown fields are kept.
function readVarint(buf, pos) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new BadRequest('protobuf: truncated varint');
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [v, pos];
    mul *= 128;
  }
  throw new BadRequest('protobuf: varint too long');
}

function parseProto(buf) {
  const fields = new Map(); // number -> [values]; varints as numbers, length-delimited as Uint8Array
  let pos = 0;
  while (pos < buf.length) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const num = Math.floor(tag / 8);
    const wt = tag % 8;
    let val;
    if (wt === 0) {
      [val, pos] = readVarint(buf, pos);
    } else if (wt === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (pos + len > buf.length) throw new BadRequest('protobuf: truncated field');
      val = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (pos + n > buf.length) throw new BadRequest('protobuf: truncated field');
      val = buf.subarray(pos, pos + n);
      pos += n;
    } else {
      throw new BadRequest(`protobuf: unsupported wire type ${wt}`);
    }
    if (!fields.has(num)) fields.set(num, []);
    fields.get(num).push(val);
  }
  return fields;
}

function protoVal(fields, num, conv) {
  const v = fields.get(num);
  if (!v) return undefined;
  const last = v[v.length - 1]; // proto2 semantics: the last occurrence wins
  return conv === 'bytes' ? b64(last) : last;
}

function unknownFields(fields, known) {
  const out = [...fields.keys()].filter((n) => !known.includes(n));
  return out.length ? out.sort((a, b) => a - b) : undefined;
}

function inspectSignalMessage(ct) {
  const m = S.SignalMessage.deserialize(ct);
  if (ct.length < 1 + 8) throw new BadRequest('SignalMessage shorter than version byte and MAC');
  const f = parseProto(ct.subarray(1, ct.length - 8));
  return {
    messageVersion: m.messageVersion(),
    versionByte: ct[0],
    ratchetKey: protoVal(f, 1, 'bytes'),
    counter: m.counter(),
    previousCounter: protoVal(f, 3),
    body: b64(m.body()),
    pqRatchet: b64(m.pqRatchet()),
    addresses: protoVal(f, 6, 'bytes'),
    mac: b64(ct.subarray(ct.length - 8)),
    unknownFields: unknownFields(f, [1, 2, 3, 4, 5, 6]),
  };
}

function inspectPreKeySignalMessage(ct) {
  const m = S.PreKeySignalMessage.deserialize(ct);
  const f = parseProto(ct.subarray(1));
  const inner = f.get(4);
  return {
    messageVersion: m.version(),
    versionByte: ct[0],
    registrationId: m.registrationId(),
    preKeyId: m.preKeyId() ?? undefined,
    signedPreKeyId: m.signedPreKeyId(),
    kyberPreKeyId: protoVal(f, 7),
    kyberCiphertext: protoVal(f, 8, 'bytes'),
    baseKey: protoVal(f, 2, 'bytes'),
    identityKey: protoVal(f, 3, 'bytes'),
    message: inner ? inspectSignalMessage(new Uint8Array(inner[inner.length - 1])) : undefined,
    unknownFields: unknownFields(f, [1, 2, 3, 4, 5, 6, 7, 8]),
  };
}

function inspectSenderKeyMessage(ct) {
  const m = S.SenderKeyMessage.deserialize(ct);
  if (ct.length < 1 + 64) throw new BadRequest('SenderKeyMessage shorter than version byte and signature');
  const f = parseProto(ct.subarray(1, ct.length - 64));
  return {
    messageVersion: ct[0] >> 4,
    versionByte: ct[0],
    distributionId: m.distributionId(),
    chainId: m.chainId(),
    iteration: m.iteration(),
    body: b64(m.ciphertext()),
    signature: b64(ct.subarray(ct.length - 64)),
    unknownFields: unknownFields(f, [1, 2, 3, 4]),
  };
}

function inspectSkdm(b) {
  const m = S.SenderKeyDistributionMessage.deserialize(b);
  const f = parseProto(b.subarray(1));
  return {
    messageVersion: b[0] >> 4,
    versionByte: b[0],
    distributionId: m.distributionId(),
    chainId: m.chainId(),
    iteration: m.iteration(),
    chainKey: b64(m.chainKey()),
    signingKey: protoVal(f, 5, 'bytes'),
    unknownFields: unknownFields(f, [1, 2, 3, 4, 5]),
  };
}

// ---------------------------------------------------------------- operations

const Type = S.CiphertextMessageType;

// The id a caller asked for, or the party's next one; either way later
// defaults stay above it so that keys are never silently replaced.
function nextId(p, counter, args, key) {
  const id = has(args, key) ? int(args, key) : p[counter];
  p[counter] = Math.max(p[counter], id + 1);
  return id;
}

const ops = {
  version() {
    return { libsignal: LIBSIGNAL_VERSION, node: process.versions.node };
  },

  newParty(args) {
    const name = str(args, 'name');
    const deviceId = int(args, 'deviceId');
    const handle = has(args, 'party') ? str(args, 'party') : name;
    if (parties.has(handle)) throw new BadRequest(`party ${JSON.stringify(handle)} already exists`);
    const registrationId = has(args, 'registrationId') ? int(args, 'registrationId') : 1 + randomInt(16380);
    let identity;
    if (has(args, 'identityPrivateKey')) {
      const priv = S.PrivateKey.deserialize(bytes(args, 'identityPrivateKey'));
      identity = new S.IdentityKeyPair(priv.getPublicKey(), priv);
    } else {
      identity = S.IdentityKeyPair.generate();
    }
    const p = new Party(name, deviceId, registrationId, identity);
    parties.set(handle, p);
    return p.summary(handle);
  },

  bundle(args) {
    const p = party(args);
    const ts = has(args, 'timestamp') ? int(args, 'timestamp') : Date.now();
    const idPriv = p.identity.privateKey;
    const out = { registrationId: p.registrationId, deviceId: p.deviceId };
    let pre = null;
    if (args.withOneTime === true) {
      const id = nextId(p, 'nextPreKeyId', args, 'preKeyId');
      const k = S.PrivateKey.generate();
      p.preKeys.set(id, S.PreKeyRecord.new(id, k.getPublicKey(), k).serialize());
      pre = { id, pub: k.getPublicKey() };
      out.preKeyId = id;
      out.preKey = b64(k.getPublicKey().serialize());
    }
    const spkId = nextId(p, 'nextSignedPreKeyId', args, 'signedPreKeyId');
    const spk = S.PrivateKey.generate();
    const spkSig = idPriv.sign(spk.getPublicKey().serialize());
    p.signedPreKeys.set(spkId, S.SignedPreKeyRecord.new(spkId, ts, spk.getPublicKey(), spk, spkSig).serialize());
    const kyId = nextId(p, 'nextKyberPreKeyId', args, 'kyberPreKeyId');
    const ky = S.KEMKeyPair.generate();
    const kySig = idPriv.sign(ky.getPublicKey().serialize());
    p.kyberPreKeys.set(kyId, S.KyberPreKeyRecord.new(kyId, ts, ky, kySig).serialize());
    // Round-trip through PreKeyBundle so that what we hand out is what libsignal accepts.
    const bundle = S.PreKeyBundle.new(p.registrationId, p.deviceId, pre ? pre.id : null, pre ? pre.pub : null,
      spkId, spk.getPublicKey(), spkSig, p.identity.publicKey, kyId, ky.getPublicKey(), kySig);
    Object.assign(out, {
      signedPreKeyId: bundle.signedPreKeyId(),
      signedPreKey: b64(bundle.signedPreKeyPublic().serialize()),
      signedPreKeySignature: b64(bundle.signedPreKeySignature()),
      identityKey: b64(bundle.identityKey().serialize()),
      kyberPreKeyId: bundle.kyberPreKeyId(),
      kyberPreKey: b64(bundle.kyberPreKeyPublic().serialize()),
      kyberPreKeySignature: b64(bundle.kyberPreKeySignature()),
    });
    return out;
  },

  async processBundle(args) {
    const p = party(args);
    const peer = address(args, 'peer');
    const b = need(args, 'bundle');
    const w = 'args.bundle';
    const preKeyId = optInt(b, 'preKeyId', w);
    const preKey = optBytes(b, 'preKey', w);
    if ((preKeyId === null) !== (preKey === null)) throw new BadRequest('args.bundle: preKeyId and preKey go together');
    const bundle = S.PreKeyBundle.new(
      int(b, 'registrationId', w),
      has(b, 'deviceId') ? int(b, 'deviceId', w) : peer.deviceId(),
      preKeyId,
      preKey ? S.PublicKey.deserialize(preKey) : null,
      int(b, 'signedPreKeyId', w),
      S.PublicKey.deserialize(bytes(b, 'signedPreKey', w)),
      bytes(b, 'signedPreKeySignature', w),
      S.PublicKey.deserialize(bytes(b, 'identityKey', w)),
      int(b, 'kyberPreKeyId', w),
      S.KEMPublicKey.deserialize(bytes(b, 'kyberPreKey', w)),
      bytes(b, 'kyberPreKeySignature', w),
    );
    await S.processPreKeyBundle(bundle, peer, p.address, p.sessionStore, p.identityStore, optNow(args));
    return {};
  },

  async encrypt(args) {
    const p = party(args);
    const c = await S.signalEncrypt(payload(args, 'plaintext'), address(args, 'peer'), p.address, p.sessionStore, p.identityStore, optNow(args));
    return { type: c.type(), ciphertext: b64(c.serialize()) };
  },

  async decrypt(args) {
    const p = party(args);
    const peer = address(args, 'peer');
    const type = int(args, 'type');
    const ct = bytes(args, 'ciphertext');
    let pt;
    if (type === Type.PreKey) {
      pt = await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(ct), peer, p.address, p.sessionStore, p.identityStore,
        p.preKeyStore, p.signedPreKeyStore, p.kyberPreKeyStore);
    } else if (type === Type.Whisper) {
      pt = await S.signalDecrypt(S.SignalMessage.deserialize(ct), peer, p.address, p.sessionStore, p.identityStore);
    } else {
      throw new BadRequest(`args.type must be ${Type.Whisper} (Whisper) or ${Type.PreKey} (PreKey), not ${type}`);
    }
    return { plaintext: b64(pt) };
  },

  async skdm(args) {
    const p = party(args);
    const m = await S.SenderKeyDistributionMessage.create(p.address, str(args, 'distributionId'), p.senderKeyStore);
    return { skdm: b64(m.serialize()) };
  },

  async processSkdm(args) {
    const p = party(args);
    const m = S.SenderKeyDistributionMessage.deserialize(bytes(args, 'skdm'));
    await S.processSenderKeyDistributionMessage(address(args, 'sender'), m, p.senderKeyStore);
    return {};
  },

  async groupEncrypt(args) {
    const p = party(args);
    const c = await S.groupEncrypt(p.address, str(args, 'distributionId'), p.senderKeyStore, payload(args, 'plaintext'));
    return { type: c.type(), ciphertext: b64(c.serialize()) };
  },

  async groupDecrypt(args) {
    const p = party(args);
    const pt = await S.groupDecrypt(address(args, 'sender'), p.senderKeyStore, bytes(args, 'ciphertext'));
    return { plaintext: b64(pt) };
  },

  fingerprint(args) {
    const fp = S.Fingerprint.new(int(args, 'iterations'), int(args, 'version'),
      payload(args, 'localId'), S.PublicKey.deserialize(bytes(args, 'localKey')),
      payload(args, 'remoteId'), S.PublicKey.deserialize(bytes(args, 'remoteKey')));
    return { displayable: fp.displayableFingerprint().toString(), scannable: b64(fp.scannableFingerprint().toBuffer()) };
  },

  fingerprintCompare(args) {
    const mine = S.ScannableFingerprint._fromBuffer(bytes(args, 'scannable'));
    return { match: mine.compare(S.ScannableFingerprint._fromBuffer(bytes(args, 'other'))) };
  },

  sign(args) {
    let key;
    if (has(args, 'party')) key = party(args).identity.privateKey;
    else if (has(args, 'privateKey')) key = S.PrivateKey.deserialize(bytes(args, 'privateKey'));
    else throw new BadRequest('args.party or args.privateKey is required');
    return { signature: b64(key.sign(payload(args, 'message'))) };
  },

  verify(args) {
    const key = S.PublicKey.deserialize(bytes(args, 'publicKey'));
    return { valid: key.verify(payload(args, 'message'), payload(args, 'signature')) };
  },

  hkdf(args) {
    return { okm: b64(S.hkdf(int(args, 'length'), payload(args, 'ikm'), payload(args, 'info'), optBytes(args, 'salt'))) };
  },

  inspect(args) {
    const type = int(args, 'type');
    const ct = bytes(args, 'ciphertext');
    const f = { [Type.Whisper]: inspectSignalMessage, [Type.PreKey]: inspectPreKeySignalMessage, [Type.SenderKey]: inspectSenderKeyMessage }[type];
    if (!f) throw new BadRequest(`args.type must be ${Type.Whisper}, ${Type.PreKey} or ${Type.SenderKey}, not ${type}`);
    return { type, ...f(ct) };
  },

  inspectSkdm(args) {
    return inspectSkdm(bytes(args, 'skdm'));
  },

  sessionInfo(args) {
    const p = party(args);
    const e = p.sessions.get(addrKey(address(args, 'peer')));
    if (!e) return { exists: false };
    const r = S.SessionRecord.deserialize(e.record);
    return {
      exists: true,
      hasCurrentState: r.hasCurrentState(optNow(args)),
      localRegistrationId: r.localRegistrationId(),
      remoteRegistrationId: r.remoteRegistrationId(),
      record: b64(e.record),
    };
  },

  identity(args) {
    const p = party(args);
    const e = p.identities.get(addrKey(address(args, 'peer')));
    return e ? { identityKey: b64(e.key) } : {};
  },

  saveIdentity(args) {
    const p = party(args);
    const key = S.PublicKey.deserialize(bytes(args, 'identityKey')).serialize();
    return { replaced: p.saveIdentity(address(args, 'peer'), key) === S.IdentityChange.ReplacedExisting };
  },

  kyberUsed(args) {
    return { calls: party(args).kyberUsed.map((c) => ({ ...c })) };
  },

  serverCertificate(args) {
    const c = S.ServerCertificate.new(int(args, 'keyId'), S.PublicKey.deserialize(bytes(args, 'serverKey')),
      S.PrivateKey.deserialize(bytes(args, 'trustRootPrivateKey')));
    return { certificate: b64(c.serialize()) };
  },

  senderCertificate(args) {
    const server = S.ServerCertificate.deserialize(bytes(args, 'serverCertificate'));
    const c = S.SenderCertificate.new(str(args, 'senderUuid'), has(args, 'senderE164') ? str(args, 'senderE164') : null,
      int(args, 'deviceId'), S.PublicKey.deserialize(bytes(args, 'identityKey')), int(args, 'expires'),
      server, S.PrivateKey.deserialize(bytes(args, 'serverPrivateKey')));
    return { certificate: b64(c.serialize()) };
  },

  // Parses a sender certificate and validates it against a trust root at a
  // time, the check sealedDecrypt makes.
  validateSenderCertificate(args) {
    const c = S.SenderCertificate.deserialize(bytes(args, 'certificate'));
    const server = c.serverCertificate();
    return {
      valid: c.validate(S.PublicKey.deserialize(bytes(args, 'trustRoot')), int(args, 'now')),
      senderUuid: c.senderUuid(),
      senderE164: c.senderE164() ?? undefined,
      deviceId: c.senderDeviceId(),
      expires: c.expiration(),
      identityKey: b64(c.key().serialize()),
      serverKeyId: server.keyId(),
      serverKey: b64(server.key().serialize()),
    };
  },

  // Encrypts plaintext over party's session with peer and seals it (v1) with
  // senderCertificate; contentHint/groupId, when given, go into the content.
  async sealedEncrypt(args) {
    const p = party(args);
    const peer = address(args, 'peer');
    const cert = S.SenderCertificate.deserialize(bytes(args, 'senderCertificate'));
    const pt = payload(args, 'plaintext');
    let env;
    if (has(args, 'contentHint') || has(args, 'groupId')) {
      const m = await S.signalEncrypt(pt, peer, p.address, p.sessionStore, p.identityStore, optNow(args));
      const usmc = S.UnidentifiedSenderMessageContent.new(m, cert, has(args, 'contentHint') ? int(args, 'contentHint') : 0, optBytes(args, 'groupId'));
      env = await S.sealedSenderEncrypt(usmc, peer, p.identityStore);
    } else {
      env = await S.sealedSenderEncryptMessage(pt, peer, cert, p.sessionStore, p.identityStore);
    }
    return { ciphertext: b64(env) };
  },

  // Opens a sealed sender message to party, validates the sender certificate
  // against trustRoot at timestamp, and decrypts the inner message.
  async sealedDecrypt(args) {
    const p = party(args);
    const env = bytes(args, 'ciphertext');
    // The content first (it does not touch any session) to report its fields.
    const usmc = await S.sealedSenderDecryptToUsmc(env, p.identityStore);
    const r = await S.sealedSenderDecryptMessage(env, S.PublicKey.deserialize(bytes(args, 'trustRoot')), int(args, 'timestamp'),
      has(args, 'localE164') ? str(args, 'localE164') : null, p.name, p.deviceId,
      p.sessionStore, p.identityStore, p.preKeyStore, p.signedPreKeyStore, p.kyberPreKeyStore);
    const g = usmc.groupId();
    return {
      plaintext: b64(r.message()),
      senderUuid: r.senderUuid(),
      senderE164: r.senderE164() ?? undefined,
      deviceId: r.deviceId(),
      type: usmc.msgType(),
      contentHint: usmc.contentHint(),
      groupId: g && g.length ? b64(g) : undefined,
    };
  },

  // Sealed sender v2: party encrypts plaintext over its session with peer
  // (the inner message), wraps it with senderCertificate, and seals it once
  // for every device in recipients (sealedSenderMultiRecipientEncrypt);
  // excludedRecipients are service id strings listed as deliberately left
  // out. The answer is the sent message the client uploads.
  async sealedMultiEncrypt(args) {
    const p = party(args);
    const peer = address(args, 'peer');
    const cert = S.SenderCertificate.deserialize(bytes(args, 'senderCertificate'));
    const recipients = need(args, 'recipients');
    if (!Array.isArray(recipients)) throw new BadRequest('args.recipients must be an array of {name, deviceId}');
    const addrs = recipients.map((r, i) => S.ProtocolAddress.new(str(r, 'name', `args.recipients[${i}]`), int(r, 'deviceId', `args.recipients[${i}]`)));
    const excluded = args.excludedRecipients ?? [];
    if (!Array.isArray(excluded)) throw new BadRequest('args.excludedRecipients must be an array of service id strings');
    const m = await S.signalEncrypt(payload(args, 'plaintext'), peer, p.address, p.sessionStore, p.identityStore, optNow(args));
    const usmc = S.UnidentifiedSenderMessageContent.new(m, cert, has(args, 'contentHint') ? int(args, 'contentHint') : 0, optBytes(args, 'groupId'));
    const sent = await S.sealedSenderMultiRecipientEncrypt({
      content: usmc,
      recipients: addrs,
      excludedRecipients: excluded.map((x) => S.ServiceId.parseFromServiceIdString(x)),
      identityStore: p.identityStore,
      sessionStore: p.sessionStore,
    });
    return { ciphertext: b64(sent) };
  },

  // The server's side of sealed sender v2: parses a sent message
  // (SealedSenderMultiRecipientMessage) and cuts each recipient's received
  // message (messageForRecipient), in the order the parser lists them.
  // singleRecipientMessage is sealedSenderMultiRecipientMessageForSingleRecipient,
  // given when the message has exactly one recipient entry.
  sealedMultiSplit(args) {
    const sent = bytes(args, 'ciphertext');
    const m = new SealedSenderMultiRecipientMessage(sent);
    const out = {
      recipients: Object.entries(m.recipientsByServiceIdString()).map(([serviceId, r]) => ({
        serviceId,
        devices: r.deviceIds.map((d, i) => ({ deviceId: d, registrationId: r.registrationIds[i] })),
        message: b64(m.messageForRecipient(r)),
      })),
      excludedRecipients: [...m.excludedRecipientServiceIdStrings()],
    };
    if (out.recipients.length + out.excludedRecipients.length === 1) {
      out.singleRecipientMessage = b64(S.sealedSenderMultiRecipientMessageForSingleRecipient(sent));
    }
    return out;
  },

  // Opens a sealed sender message (v1, or a v2 received message) to party
  // without decrypting the inner message (sealedSenderDecryptToUsmc): no
  // session changes and no certificate check.
  async sealedOpen(args) {
    const p = party(args);
    const usmc = await S.sealedSenderDecryptToUsmc(bytes(args, 'ciphertext'), p.identityStore);
    const cert = usmc.senderCertificate();
    const g = usmc.groupId();
    return {
      type: usmc.msgType(),
      contents: b64(usmc.contents()),
      senderCertificate: b64(cert.serialize()),
      senderUuid: cert.senderUuid(),
      senderE164: cert.senderE164() ?? undefined,
      deviceId: cert.senderDeviceId(),
      contentHint: usmc.contentHint(),
      groupId: g && g.length ? b64(g) : undefined,
    };
  },

  exportState(args) {
    return { state: party(args).exportState() };
  },

  importState(args) {
    const p = Party.importState(need(args, 'state'));
    const handle = has(args, 'party') ? str(args, 'party') : p.name;
    parties.set(handle, p);
    return p.summary(handle);
  },
};

// ---------------------------------------------------------------- bench

// bench measures libsignal itself, inside this process, for the side-by-side
// benchmark in interop/bench_test.go: the same operation shapes as the Go
// benchmarks of e2ee/session and e2ee/senderkey, on in-memory stores that
// keep libsignal's record objects as they are (no serialization, the
// cheapest stores the Node API allows), after a warm-up, timed with hrtime.
// The figures include the Node binding's async store callbacks: that is
// libsignal as a Node.js application uses it.

const BENCH_PAYLOAD = new Uint8Array(100);

class BenchParty {
  constructor(name, deviceId) {
    this.address = S.ProtocolAddress.new(name, deviceId);
    this.identity = S.IdentityKeyPair.generate();
    this.registrationId = 1 + randomInt(16380);
    const sessions = new Map();
    const identities = new Map();
    this.preKeys = new Map();
    this.signedPreKeys = new Map();
    this.kyberPreKeys = new Map();
    const senderKeys = new Map();
    const p = this;
    this.sessionStore = new (class extends S.SessionStore {
      async saveSession(a, r) { sessions.set(addrKey(a), r); }
      async getSession(a) { return sessions.get(addrKey(a)) ?? null; }
      async getExistingSessions(as) { return as.map((a) => sessions.get(addrKey(a))); }
    })();
    this.identityStore = new (class extends S.IdentityKeyStore {
      async getIdentityKey() { return p.identity.privateKey; }
      async getIdentityKeyPair() { return p.identity; }
      async getLocalRegistrationId() { return p.registrationId; }
      async saveIdentity(a, k) {
        const old = identities.get(addrKey(a));
        identities.set(addrKey(a), k);
        return old && !old.equals(k) ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
      }
      async isTrustedIdentity(a, k) { const old = identities.get(addrKey(a)); return !old || old.equals(k); }
      async getIdentity(a) { return identities.get(addrKey(a)) ?? null; }
    })();
    this.preKeyStore = new (class extends S.PreKeyStore {
      async savePreKey(id, r) { p.preKeys.set(id, r); }
      async getPreKey(id) { const r = p.preKeys.get(id); if (!r) throw new Error(`no prekey ${id}`); return r; }
      async removePreKey(id) { p.preKeys.delete(id); }
    })();
    this.signedPreKeyStore = new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(id, r) { p.signedPreKeys.set(id, r); }
      async getSignedPreKey(id) { const r = p.signedPreKeys.get(id); if (!r) throw new Error(`no signed prekey ${id}`); return r; }
    })();
    this.kyberPreKeyStore = new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(id, r) { p.kyberPreKeys.set(id, r); }
      async getKyberPreKey(id) { const r = p.kyberPreKeys.get(id); if (!r) throw new Error(`no kyber prekey ${id}`); return r; }
      // One-time Kyber prekeys, as in the Go benchmark: deleted after use.
      async markKyberPreKeyUsed(id) { p.kyberPreKeys.delete(id); }
    })();
    this.senderKeyStore = new (class extends S.SenderKeyStore {
      async saveSenderKey(a, d, r) { senderKeys.set(`${addrKey(a)}|${d}`, r); }
      async getSenderKey(a, d) { return senderKeys.get(`${addrKey(a)}|${d}`) ?? null; }
    })();
  }

  // publish makes fresh prekeys (one-time 3, signed 1, Kyber 2, as the Go
  // benchmark numbers them) and returns the bundle.
  publish() {
    const ts = Date.now();
    const spk = S.PrivateKey.generate();
    const spkSig = this.identity.privateKey.sign(spk.getPublicKey().serialize());
    this.signedPreKeys.set(1, S.SignedPreKeyRecord.new(1, ts, spk.getPublicKey(), spk, spkSig));
    const ky = S.KEMKeyPair.generate();
    const kySig = this.identity.privateKey.sign(ky.getPublicKey().serialize());
    this.kyberPreKeys.set(2, S.KyberPreKeyRecord.new(2, ts, ky, kySig));
    const pre = S.PrivateKey.generate();
    this.preKeys.set(3, S.PreKeyRecord.new(3, pre.getPublicKey(), pre));
    return S.PreKeyBundle.new(this.registrationId, this.address.deviceId(), 3, pre.getPublicKey(),
      1, spk.getPublicKey(), spkSig, this.identity.publicKey, 2, ky.getPublicKey(), kySig);
  }

  // publishSigned makes the signed prekey (1) once, for publishOneTime.
  publishSigned() {
    const spk = S.PrivateKey.generate();
    const spkSig = this.identity.privateKey.sign(spk.getPublicKey().serialize());
    this.signedPreKeys.set(1, S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig));
    this.published = { spk: spk.getPublicKey(), spkSig };
  }

  // publishOneTime stores a fresh one-time prekey and one-time Kyber prekey,
  // both numbered id (100 and up, as the Go benchmark numbers them), and
  // returns the bundle with them and publishSigned's signed prekey.
  publishOneTime(id) {
    const ky = S.KEMKeyPair.generate();
    const kySig = this.identity.privateKey.sign(ky.getPublicKey().serialize());
    this.kyberPreKeys.set(id, S.KyberPreKeyRecord.new(id, Date.now(), ky, kySig));
    const pre = S.PrivateKey.generate();
    this.preKeys.set(id, S.PreKeyRecord.new(id, pre.getPublicKey(), pre));
    return S.PreKeyBundle.new(this.registrationId, this.address.deviceId(), id, pre.getPublicKey(),
      1, this.published.spk, this.published.spkSig, this.identity.publicKey, id, ky.getPublicKey(), kySig);
  }

  async encrypt(to, pt) { return (await S.signalEncrypt(pt, to.address, this.address, this.sessionStore, this.identityStore)).serialize(); }

  async decrypt(from, ct) { return S.signalDecrypt(S.SignalMessage.deserialize(ct), from.address, this.address, this.sessionStore, this.identityStore); }

  async decryptPreKey(from, ct) {
    return S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(ct), from.address, this.address, this.sessionStore, this.identityStore,
      this.preKeyStore, this.signedPreKeyStore, this.kyberPreKeyStore);
  }
}

// benchCases set up a case and return its step: one operation, as the Go
// benchmark of the same name counts one. steps is how many times the step
// will run (warm-up included), for cases that prepare per-step inputs.
const benchCases = {
  // BenchmarkOneWay: one message on an established chain, encrypt + decrypt.
  async oneWay() {
    const alice = new BenchParty('alice', 1);
    const bob = new BenchParty('bob', 1);
    await S.processPreKeyBundle(bob.publish(), bob.address, alice.address, alice.sessionStore, alice.identityStore);
    await bob.decryptPreKey(alice, await alice.encrypt(bob, BENCH_PAYLOAD));
    await alice.decrypt(bob, await bob.encrypt(alice, BENCH_PAYLOAD));
    return async () => { await bob.decrypt(alice, await alice.encrypt(bob, BENCH_PAYLOAD)); };
  },
  // BenchmarkPingPong: the direction alternates, a DH ratchet step each message.
  async pingPong() {
    const alice = new BenchParty('alice', 1);
    const bob = new BenchParty('bob', 1);
    await S.processPreKeyBundle(bob.publish(), bob.address, alice.address, alice.sessionStore, alice.identityStore);
    await bob.decryptPreKey(alice, await alice.encrypt(bob, BENCH_PAYLOAD));
    let from = bob;
    let to = alice;
    return async () => {
      await to.decrypt(from, await from.encrypt(to, BENCH_PAYLOAD));
      [from, to] = [to, from];
    };
  },
  // BenchmarkSessionSetup: Bob makes and signs his prekeys, Alice processes
  // the bundle (PQXDH) and encrypts, Bob decrypts the PreKeySignalMessage.
  async sessionSetup() {
    const alice = new BenchParty('alice', 1);
    const bob = new BenchParty('bob', 1);
    return async () => {
      await S.processPreKeyBundle(bob.publish(), bob.address, alice.address, alice.sessionStore, alice.identityStore);
      await bob.decryptPreKey(alice, await alice.encrypt(bob, BENCH_PAYLOAD));
    };
  },
  // setupPublished: session setup against a bundle published beforehand.
  // Bob's identity and signed prekey are made once, and before the timing
  // a fresh one-time prekey and one-time Kyber prekey for every step (as a
  // server hands out a different pair to each caller). Timed: Alice
  // processes the bundle (PQXDH) and encrypts, Bob decrypts the
  // PreKeySignalMessage.
  async setupPublished(steps) {
    const alice = new BenchParty('alice', 1);
    const bob = new BenchParty('bob', 1);
    bob.publishSigned();
    const bundles = [];
    for (let i = 0; i < steps; i++) bundles.push(bob.publishOneTime(100 + i));
    let next = 0;
    return async () => {
      await S.processPreKeyBundle(bundles[next++], bob.address, alice.address, alice.sessionStore, alice.identityStore);
      await bob.decryptPreKey(alice, await alice.encrypt(bob, BENCH_PAYLOAD));
    };
  },
  // senderkey's BenchmarkEncrypt100 + BenchmarkDecrypt100 as one step: a
  // group message encrypted once and decrypted by one member.
  async group() {
    const alice = new BenchParty('alice', 1);
    const bob = new BenchParty('bob', 1);
    const dist = 'd1f0e7a4-5a4e-4c6e-9b7a-1a2b3c4d5e6f';
    const skdm = await S.SenderKeyDistributionMessage.create(alice.address, dist, alice.senderKeyStore);
    await S.processSenderKeyDistributionMessage(alice.address, skdm, bob.senderKeyStore);
    return async () => {
      const c = await S.groupEncrypt(alice.address, dist, alice.senderKeyStore, BENCH_PAYLOAD);
      await S.groupDecrypt(alice.address, bob.senderKeyStore, c.serialize());
    };
  },
  // Primitives, without any store: e2ee/curve's BenchmarkSign, BenchmarkVerify
  // and BenchmarkAgree. The message cases above also pay the binding's async
  // store bridge; these show the cryptographic core alone.
  async xeddsaSign() {
    const k = S.PrivateKey.generate();
    return async () => { k.sign(BENCH_PAYLOAD); };
  },
  async xeddsaVerify() {
    const k = S.PrivateKey.generate();
    const pub = k.getPublicKey();
    const sig = k.sign(BENCH_PAYLOAD);
    return async () => { if (!pub.verify(BENCH_PAYLOAD, sig)) throw new Error('bench: signature does not verify'); };
  },
  async x25519() {
    const k = S.PrivateKey.generate();
    const pub = S.PrivateKey.generate().getPublicKey();
    return async () => { k.agree(pub); };
  },
};

ops.bench = async function bench(args) {
  const iterations = int(args, 'iterations');
  if (iterations < 1) throw new BadRequest('args.iterations must be at least 1');
  let names = Object.keys(benchCases);
  if (has(args, 'cases')) {
    if (!Array.isArray(args.cases)) throw new BadRequest('args.cases must be an array of case names');
    for (const n of args.cases) if (!Object.hasOwn(benchCases, n)) throw new BadRequest(`unknown bench case ${JSON.stringify(n)}`);
    names = args.cases;
  }
  const results = {};
  for (const name of names) {
    const warmUp = Math.max(10, Math.ceil(iterations / 10));
    const step = await benchCases[name](warmUp + iterations);
    // Warm up (JIT, caches, the session's first chains) before timing.
    for (let i = 0; i < warmUp; i++) await step();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await step();
    results[name] = Number(process.hrtime.bigint() - start) / 1000 / iterations;
  }
  return { iterations, microsecondsPerOp: results };
};

// ---------------------------------------------------------------- differential fuzzing

// diffBatch serves interop/differential_test.go: it tries many mutants of one
// message, each against the same starting state, in one request. For each
// value: the party `party` is (re)created from `state` (an exportState
// object) when one is given, then `steps` run in order (each {op, args}),
// with args.party set to `party` and the value (base64) put into the
// `field` argument of the first step; a failing step ends the run. Each
// answer is {ok, results: [each step's result], step?, error?}, where step
// and error ("<Class>: message", as a single request would have answered)
// name the step that failed.
ops.diffBatch = async function diffBatch(args) {
  const handle = str(args, 'party');
  const state = has(args, 'state') ? need(args, 'state') : null;
  const steps = need(args, 'steps');
  const field = str(args, 'field');
  const values = need(args, 'values');
  if (!Array.isArray(steps) || steps.length === 0) throw new BadRequest('args.steps must be a non-empty array');
  if (!Array.isArray(values)) throw new BadRequest('args.values must be an array');
  for (const s of steps) {
    if (!s || typeof s.op !== 'string' || !Object.hasOwn(ops, s.op) || ['diffBatch', 'bench', 'close'].includes(s.op)) {
      throw new BadRequest(`args.steps: unknown or unbatchable op ${JSON.stringify(s?.op)}`);
    }
  }
  const results = [];
  for (const v of values) {
    if (state) parties.set(handle, Party.importState(state));
    const out = { ok: true, results: [] };
    for (let i = 0; i < steps.length; i++) {
      const a = { ...(steps[i].args ?? {}), party: handle };
      if (i === 0) a[field] = v;
      try {
        out.results.push((await ops[steps[i].op](a)) ?? {});
      } catch (e) {
        Object.assign(out, { ok: false, step: i, error: errorAnswer(null, e).error });
        break;
      }
    }
    results.push(out);
  }
  return { results };
};

// ---------------------------------------------------------------- loop

function errorAnswer(id, e) {
  // libsignal's errors carry their kind in `code`; `name` is not reliable
  // because some errors copy extra properties (such as an address's name) over it.
  let cls;
  if (e instanceof S.LibSignalErrorBase) cls = e.code === S.ErrorCode.Generic ? 'LibSignalError' : S.ErrorCode[e.code];
  else cls = (e && typeof e === 'object' && typeof e.name === 'string' && e.name) || e?.constructor?.name || 'Error';
  const msg = e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
  const out = { id, ok: false, error: `${cls}: ${msg}` };
  if (e instanceof S.LibSignalErrorBase && e.operation) out.operation = e.operation;
  return out;
}

function send(obj, then) {
  let line;
  try {
    line = JSON.stringify(obj);
  } catch (e) {
    line = JSON.stringify(errorAnswer(obj.id ?? null, e));
  }
  process.stdout.write(line + '\n', then);
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return send(errorAnswer(null, new BadRequest(`request is not JSON: ${e.message}`)));
  }
  const id = req && typeof req === 'object' && 'id' in req ? req.id : null;
  try {
    if (!req || typeof req !== 'object' || typeof req.op !== 'string') throw new BadRequest('request needs an "op" string');
    if (req.op === 'close') {
      send({ id, ok: true, result: {} }, () => process.exit(0));
      return 'close';
    }
    if (!Object.hasOwn(ops, req.op)) throw new BadRequest(`unknown op ${JSON.stringify(req.op)}`);
    const args = req.args ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new BadRequest('"args" must be an object');
    const result = await ops[req.op](args);
    send({ id, ok: true, result: result ?? {} });
  } catch (e) {
    send(errorAnswer(id, e));
  }
}

// Whatever goes wrong stays inside the failing request: the oracle keeps serving.
process.on('uncaughtException', (e) => process.stderr.write(`oracle: uncaught: ${e?.stack ?? e}\n`));
process.on('unhandledRejection', (e) => process.stderr.write(`oracle: unhandled rejection: ${e?.stack ?? e}\n`));

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === '') continue;
  if ((await handle(line)) === 'close') break;
}
