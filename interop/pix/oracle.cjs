// Test-only oracle: answers JSON-line requests on stdin with pix-utils, one
// JSON line per request on stdout, in order. The Go tests in
// internal/business/payment/pix batch every request of a test into one run.
//
//   {"op":"version"}                          -> {"ok":true,"pixUtils":"2.8.2","node":"v20..."}
//   {"op":"parse","code":"000201..."}         -> {"ok":true,"pix":{type,merchantName,...}} | {"ok":false,"error":"invalid crc"}
//   {"op":"createStatic","params":{...}}      -> {"ok":true,"code":"000201..."} | {"ok":false,"error":"..."}
//   {"op":"createDynamic","params":{...}}     -> same
'use strict';
const fs = require('fs');
const { parsePix, createStaticPix, createDynamicPix, hasError } = require('pix-utils');

function amount(n) {
  // Amounts travel as strings with two decimals so that Go compares them
  // exactly, without floating point.
  return typeof n === 'number' && n > 0 ? n.toFixed(2) : '';
}

function flatten(p) {
  return {
    type: p.type,
    merchantCategoryCode: p.merchantCategoryCode || '',
    transactionCurrency: p.transactionCurrency || '',
    countryCode: p.countryCode || '',
    merchantName: p.merchantName || '',
    merchantCity: p.merchantCity || '',
    pixKey: p.pixKey || '',
    infoAdicional: p.infoAdicional || '',
    fss: p.fss || '',
    txid: p.txid || '',
    url: p.url || '',
    urlRec: p.urlRec || '',
    transactionAmount: amount(p.transactionAmount),
  };
}

function created(obj) {
  if (hasError(obj)) return { ok: false, error: obj.message };
  return { ok: true, code: obj.toBRCode() };
}

function answer(req) {
  switch (req.op) {
    case 'version':
      return { ok: true, pixUtils: require('pix-utils/package.json').version, node: process.version };
    case 'parse': {
      const p = parsePix(req.code);
      if (hasError(p)) return { ok: false, error: p.message };
      return { ok: true, pix: flatten(p) };
    }
    case 'createStatic':
      return created(createStaticPix(req.params));
    case 'createDynamic':
      return created(createDynamicPix(req.params));
    default:
      return { ok: false, error: 'unknown op ' + req.op };
  }
}

const out = [];
for (const line of fs.readFileSync(0, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  let a;
  try {
    a = answer(JSON.parse(line));
  } catch (e) {
    a = { ok: false, error: 'exception: ' + (e && e.message) };
  }
  out.push(JSON.stringify(a));
}
process.stdout.write(out.join('\n') + '\n');
