// Drives two real Cloud API client libraries, unchanged but for their base
// URL, against Parley's business API, and runs both libraries' webhook
// verifiers as the receiver of Parley's webhook sender. Driven by
// internal/business/cloudapi/clients_test.go; speaks JSON lines on stdout:
//   {"listening": "http://127.0.0.1:PORT"}            the webhook receiver is up
//   {"check": NAME, "ok": BOOL, "detail": ...}        one API check
//   {"api_done": true}                                all API checks ran
//   {"webhook": "wajs"|"kapso", ...}                  one webhook accepted
// and exits when stdin closes.
import http from 'node:http';
import crypto from 'node:crypto';
import { WhatsAppClient, GraphApiError } from '@kapso/whatsapp-cloud-api';
import { verifySignature, normalizeWebhook } from '@kapso/whatsapp-cloud-api/server';
import { WhatsAppAPI } from 'whatsapp-api-js';
import { WhatsAppAPI as WhatsAppAPINode } from 'whatsapp-api-js/middleware/node-http';
import {
  Text, Image, Document, Video, Audio, Sticker, Location, Contacts, Name, Phone, Email, Reaction,
  Interactive, ActionButtons, Button, Body, Footer, Header, ActionList, ListSection, Row,
  ActionProduct, ActionProductList, ProductSection, Product, CatalogProduct, ActionCatalog, ActionCTA,
  ActionLocation, Template, Language, HeaderComponent, HeaderParameter, BodyComponent, BodyParameter, Currency, DateTime, URLComponent,
} from 'whatsapp-api-js/messages';

const env = process.env;
const BASE = env.BASE, PHONE = env.PHONE, WABA = env.WABA, CATALOG = env.CATALOG, TO = env.TO;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let failures = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    out({ check: name, ok: true, detail: detail ?? null });
  } catch (e) {
    failures++;
    out({ check: name, ok: false, detail: String(e && e.stack || e) });
  }
}
function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
const isWamid = (id) => typeof id === 'string' && id.startsWith('wamid.');

// The webhook receiver: /wajs is whatsapp-api-js's node-http middleware
// (strict: it re-escapes the body before the HMAC, needs Content-Length,
// caps at 3 MB), /kapso is Kapso's verifySignature over the raw bytes.
const wajsHook = new WhatsAppAPINode({
  token: 'unused', appSecret: env.APP_SECRET, webhookVerifyToken: env.VERIFY_TOKEN, v: 'v23.0',
  ponyfill: { subtle: crypto.webcrypto.subtle },
});
wajsHook.on.message = ({ phoneID, from, message, name }) => {
  out({ webhook: 'wajs', kind: 'message', phoneID, from, name, id: message.id, type: message.type, message });
};
wajsHook.on.status = ({ phoneID, phone, status, id, pricing, error, biz_opaque_callback_data, raw }) => {
  const st = raw.entry[0].changes[0].value.statuses[0];
  out({ webhook: 'wajs', kind: 'status', phoneID, phone, status, id, pricing, error, biz: biz_opaque_callback_data, type: st.type ?? null, payment: st.payment ?? null });
};
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET') {
    // Both receivers answer the verification handshake the way their
    // library does: whatsapp-api-js's get(), and by hand for Kapso.
    try {
      let challenge;
      if (url.pathname === '/wajs') challenge = wajsHook.handle_get(req);
      else {
        const p = url.searchParams;
        if (p.get('hub.mode') !== 'subscribe' || p.get('hub.verify_token') !== env.VERIFY_TOKEN) throw 403;
        challenge = p.get('hub.challenge');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(challenge);
    } catch (status) {
      res.writeHead(typeof status === 'number' ? status : 500).end();
    }
    return;
  }
  if (url.pathname === '/wajs') {
    const status = await wajsHook.handle_post(req);
    if (status !== 200) out({ webhook: 'wajs', kind: 'rejected', status });
    res.writeHead(status).end();
    return;
  }
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks);
  const ok = verifySignature({ appSecret: env.APP_SECRET, rawBody: raw, signatureHeader: req.headers['x-hub-signature-256'] });
  const ascii = raw.every((b) => b < 0x7f);
  if (!ok) { out({ webhook: 'kapso', kind: 'rejected', status: 401 }); res.writeHead(401).end(); return; }
  const n = normalizeWebhook(JSON.parse(raw.toString('utf8')));
  out({ webhook: 'kapso', kind: 'event', ascii, contentLength: Number(req.headers['content-length']), length: raw.length, messages: n.messages, statuses: n.statuses, phoneNumberId: n.phoneNumberId });
  res.writeHead(200).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
out({ listening: `http://127.0.0.1:${server.address().port}` });

// ---- Kapso against the API ----
const k = new WhatsAppClient({ accessToken: env.TOKEN, baseUrl: BASE, graphVersion: 'v23.0' });
const base = { phoneNumberId: PHONE, to: TO };
const sent = async (p) => { const r = await p; assert(isWamid(r.messages?.[0]?.id), 'wamid in ' + JSON.stringify(r)); assert(r.contacts?.[0]?.waId === TO, 'waId'); assert(r.messagingProduct === 'whatsapp', 'messagingProduct'); return r.messages[0].id; };
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let mediaId;
await check('kapso sendText', () => sent(k.messages.sendText({ ...base, body: 'Olá, tudo bem? 📚 Livros à venda', previewUrl: false })));
await check('kapso media upload', async () => {
  const r = await k.media.upload({ phoneNumberId: PHONE, type: 'image/png', file: new Blob([png], { type: 'image/png' }), fileName: 'capa.png' });
  assert(/^[0-9]+$/.test(r.id), 'numeric id ' + JSON.stringify(r));
  mediaId = r.id;
});
await check('kapso media get + download without bearer', async () => {
  const m = await k.media.get({ mediaId, phoneNumberId: PHONE });
  assert(m.mimeType === 'image/png' && m.fileSize === String(png.length) && m.id === mediaId, JSON.stringify(m));
  assert(m.sha256 === crypto.createHash('sha256').update(png).digest('hex'), 'sha256');
  const bytes = Buffer.from(await k.media.download({ mediaId }));
  assert(bytes.equals(png), 'downloaded bytes differ');
});
await check('kapso sendImage by id', () => sent(k.messages.sendImage({ ...base, image: { id: mediaId, caption: 'Capa do livro' } })));
await check('kapso sendImage by link', () => sent(k.messages.sendImage({ ...base, image: { link: 'https://example.com/capa.jpg' } })));
await check('kapso sendDocument', () => sent(k.messages.sendDocument({ ...base, document: { link: 'https://example.com/nota.pdf', filename: 'nota.pdf', caption: 'Nota fiscal' } })));
await check('kapso sendVideo', () => sent(k.messages.sendVideo({ ...base, video: { link: 'https://example.com/v.mp4', caption: 'Vídeo' } })));
await check('kapso sendAudio', () => sent(k.messages.sendAudio({ ...base, audio: { link: 'https://example.com/a.ogg', voice: true } })));
await check('kapso sendSticker', () => sent(k.messages.sendSticker({ ...base, sticker: { link: 'https://example.com/s.webp' } })));
await check('kapso sendLocation', () => sent(k.messages.sendLocation({ ...base, location: { latitude: -23.5505, longitude: -46.6333, name: 'Livraria', address: 'Av. Paulista, 1000' } })));
await check('kapso sendContacts', () => sent(k.messages.sendContacts({ ...base, contacts: [{ name: { formattedName: 'Ana Souza', firstName: 'Ana' }, phones: [{ phone: '+55 11 99999-0000', type: 'WORK', waId: '5511999990000' }], emails: [{ email: 'ana@example.com', type: 'WORK' }] }] })));
await check('kapso sendReaction', () => sent(k.messages.sendReaction({ ...base, reaction: { messageId: env.INBOUND_ID, emoji: '👍' } })));
await check('kapso sendInteractiveButtons', () => sent(k.messages.sendInteractiveButtons({ ...base, bodyText: 'Quer receber o livro em casa?', footerText: 'Livraria Parley', header: { type: 'text', text: 'Entrega' }, buttons: [{ id: 'yes', title: 'Sim' }, { id: 'no', title: 'Não' }] })));
await check('kapso sendInteractiveList', () => sent(k.messages.sendInteractiveList({ ...base, bodyText: 'Escolha o frete', buttonText: 'Fretes', sections: [{ title: 'Correios', rows: [{ id: 'pac', title: 'PAC', description: '5 a 8 dias' }, { id: 'sedex', title: 'SEDEX' }] }, { title: 'Retirada', rows: [{ id: 'loja', title: 'Na loja' }] }] })));
await check('kapso create products (catalog)', async () => {
  for (const [sku, name, price, inventory] of [['LIVRO-1', 'Dom Casmurro', 4990, 3], ['LIVRO-2', 'Grande Sertão: Veredas', 8990, 0]]) {
    const r = await k.request('POST', `${CATALOG}/products`, { body: { retailerId: sku, name, price, currency: 'BRL', inventory, imageUrl: 'https://example.com/' + sku + '.jpg' }, responseType: 'json' });
    assert(/^[0-9]+$/.test(r.id), 'product id ' + JSON.stringify(r));
  }
});
await check('kapso sendInteractiveProduct', () => sent(k.messages.sendInteractiveProduct({ ...base, bodyText: 'Um clássico', catalogId: CATALOG, productRetailerId: 'LIVRO-1' })));
await check('kapso sendInteractiveProductList', () => sent(k.messages.sendInteractiveProductList({ ...base, header: { type: 'text', text: 'Clássicos' }, bodyText: 'Nossa seleção', catalogId: CATALOG, sections: [{ title: 'Brasileiros', productItems: [{ productRetailerId: 'LIVRO-1' }, { productRetailerId: 'LIVRO-2' }] }] })));
await check('kapso sendInteractiveCatalogMessage', () => sent(k.messages.sendInteractiveCatalogMessage({ ...base, bodyText: 'Veja o catálogo', parameters: { thumbnailProductRetailerId: 'LIVRO-1' } })));
await check('kapso sendInteractiveCtaUrl', () => sent(k.messages.sendInteractiveCtaUrl({ ...base, bodyText: 'Acompanhe', parameters: { displayText: 'Abrir', url: 'https://example.com/pedido' } })));
await check('kapso sendInteractiveLocationRequest', () => sent(k.messages.sendInteractiveLocationRequest({ ...base, bodyText: 'Onde entregamos?', parameters: { requestMessage: 'Enviar localização' } })));
const exp = Math.floor(Date.now() / 1000) + 3600;
await check('kapso order_details (sendInteractiveRaw)', () => sent(k.messages.sendInteractiveRaw({ ...base, interactive: {
  type: 'order_details', body: { text: 'Revise e pague seu pedido' }, footer: { text: 'Pix' },
  action: { name: 'review_and_pay', parameters: {
    reference_id: 'pedido-123', type: 'physical-goods', payment_type: 'br', currency: 'BRL',
    payment_settings: [{ type: 'pix_dynamic_code', pix_dynamic_code: { code: '00020126580014br.gov.bcb.pix', merchant_name: 'Livraria Parley', key: 'loja@example.com', key_type: 'EMAIL' } }],
    total_amount: { value: 10980, offset: 100 },
    order: { status: 'pending', catalog_id: CATALOG, expiration: { timestamp: String(exp), description: 'O Pix expira em 1 hora' },
      items: [{ retailer_id: 'LIVRO-1', name: 'Dom Casmurro', amount: { value: 4990, offset: 100 }, quantity: 2 }],
      subtotal: { value: 9980, offset: 100 }, tax: { value: 0, offset: 100 }, shipping: { value: 1000, offset: 100, description: 'PAC' } } } } } })));
await check('kapso order_status (sendInteractiveRaw)', () => sent(k.messages.sendInteractiveRaw({ ...base, interactive: {
  type: 'order_status', body: { text: 'Pagamento confirmado' },
  action: { name: 'review_order', parameters: { reference_id: 'pedido-123', order: { status: 'processing', description: 'Separando seus livros' }, payment: { status: 'captured', timestamp: Math.floor(Date.now() / 1000) } } } } })));
await check('kapso markRead with typing indicator', async () => {
  const r = await k.messages.markRead({ phoneNumberId: PHONE, messageId: env.INBOUND_ID, typingIndicator: { type: 'text' } });
  assert(r.success === true, JSON.stringify(r));
});
let tplId;
await check('kapso templates create/list/get', async () => {
  const c = await k.templates.create({ businessAccountId: WABA, name: 'pedido_enviado', language: 'pt_BR', category: 'UTILITY', components: [
    { type: 'HEADER', format: 'TEXT', text: 'Pedido {{1}}', example: { headerText: ['123'] } },
    { type: 'BODY', text: 'Olá {{1}}, seu pedido de {{2}} sai em {{3}}.', example: { bodyText: [['Ana', 'R$ 99,80', '24/11']] } },
    { type: 'FOOTER', text: 'Livraria Parley' },
    { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Rastrear', url: 'https://example.com/track/{{1}}', example: ['abc'] }, { type: 'QUICK_REPLY', text: 'Parar avisos' }] }] });
  assert(c.status === 'APPROVED' && /^[0-9]+$/.test(c.id) && c.category === 'UTILITY', JSON.stringify(c));
  tplId = c.id;
  const named = await k.templates.create({ businessAccountId: WABA, name: 'boas_vindas', language: 'pt_BR', category: 'MARKETING', parameterFormat: 'NAMED', components: [
    { type: 'BODY', text: 'Bem-vinda, {{first_name}}!', example: { bodyTextNamedParams: [{ paramName: 'first_name', example: 'Ana' }] } }] });
  assert(named.status === 'APPROVED', JSON.stringify(named));
  const list = await k.templates.list({ businessAccountId: WABA });
  assert(list.data.some((t) => t.id === tplId && t.status === 'APPROVED'), 'listed ' + JSON.stringify(list));
  const got = await k.templates.get({ businessAccountId: WABA, templateId: tplId });
  assert(got.name === 'pedido_enviado' && got.components.length === 4, JSON.stringify(got));
});
await check('kapso sendTemplate positional with currency and date_time', () => sent(k.messages.sendTemplate({ ...base, template: { name: 'pedido_enviado', language: { code: 'pt_BR', policy: 'deterministic' }, components: [
  { type: 'header', parameters: [{ type: 'text', text: '123' }] },
  { type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'currency', currency: { fallback_value: 'R$ 99,80', code: 'BRL', amount_1000: 99800 } }, { type: 'date_time', date_time: { fallback_value: '24 de novembro' } }] },
  { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'BR123' }] }] } })));
await check('kapso sendTemplate named', () => sent(k.messages.sendTemplate({ ...base, template: { name: 'boas_vindas', language: { code: 'pt_BR' }, components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }] }] } })));
await check('kapso business profile set/get', async () => {
  const u = await k.phoneNumbers.businessProfile.update({ phoneNumberId: PHONE, about: 'Livros novos e usados 📚', address: 'Av. Paulista, 1000', description: 'A livraria da esquina', email: 'loja@example.com', websites: ['https://example.com'], vertical: 'RETAIL' });
  assert(u.success === true, JSON.stringify(u));
  const g = await k.phoneNumbers.businessProfile.get({ phoneNumberId: PHONE, fields: 'about,address,description,email,websites,vertical' });
  const p = g.data[0];
  assert(p.about === 'Livros novos e usados 📚' && p.vertical === 'RETAIL' && p.websites[0] === 'https://example.com' && p.messagingProduct === 'whatsapp', JSON.stringify(g));
});
await check('kapso catalog products list/get/update/delete', async () => {
  const list = await k.request('GET', `${CATALOG}/products`, { query: { fields: 'id,retailer_id,name,price,inventory,availability' }, responseType: 'json' });
  assert(list.data.length === 2 && list.summary.totalCount === 2, JSON.stringify(list));
  const p2 = list.data.find((p) => p.retailerId === 'LIVRO-2');
  assert(p2.price === 'R$89.90' && p2.inventory === 0 && p2.availability === 'out of stock', JSON.stringify(p2));
  const upd = await k.request('POST', p2.id, { body: { inventory: 5, availability: 'in stock' }, responseType: 'json' });
  assert(upd.success === true, JSON.stringify(upd));
  const got = await k.request('GET', p2.id, { query: { fields: 'inventory,availability' }, responseType: 'json' });
  assert(got.inventory === 5 && got.availability === 'in stock', JSON.stringify(got));
  const filtered = await k.request('GET', `${CATALOG}/products`, { query: { filter: JSON.stringify({ name: { i_contains: 'sertão' } }) }, responseType: 'json' });
  assert(filtered.data.length === 1 && filtered.data[0].id === p2.id, JSON.stringify(filtered));
  const del = await k.request('DELETE', p2.id, { responseType: 'json' });
  assert(del.success === true, JSON.stringify(del));
});
await check('kapso commerce settings and phone numbers', async () => {
  const s = await k.request('POST', `${PHONE}/whatsapp_commerce_settings`, { query: { isCartEnabled: true, isCatalogVisible: true }, responseType: 'json' });
  assert(s.success === true, JSON.stringify(s));
  const g = await k.request('GET', `${PHONE}/whatsapp_commerce_settings`, { responseType: 'json' });
  assert(g.data[0].isCartEnabled === true && g.data[0].isCatalogVisible === true, JSON.stringify(g));
  const nums = await k.request('GET', `${WABA}/phone_numbers`, { responseType: 'json' });
  assert(nums.data.length === 1 && nums.data[0].id === PHONE && nums.data[0].qualityRating === 'GREEN', JSON.stringify(nums));
  const one = await k.request('GET', PHONE, { query: { fields: 'display_phone_number,verified_name,throughput' }, responseType: 'json' });
  assert(one.verifiedName === 'Livraria Parley' && one.throughput.level === 'STANDARD', JSON.stringify(one));
});
const graphError = async (p, httpStatus, code, subcode, category) => {
  try { await p; } catch (e) {
    assert(e instanceof GraphApiError, 'GraphApiError, got ' + e);
    assert(e.httpStatus === httpStatus && e.code === code && e.errorSubcode === subcode && e.category === category && typeof e.fbtraceId === 'string', JSON.stringify(e.toJSON()));
    return { code: e.code, subcode: e.errorSubcode, category: e.category, retry: e.retry };
  }
  throw new Error('no error');
};
await check('kapso error: expired token', () => graphError(new WhatsAppClient({ accessToken: env.EXPIRED_TOKEN, baseUrl: BASE }).messages.sendText({ ...base, body: 'x' }), 401, 190, 463, 'authorization'));
await check('kapso error: unknown object', () => graphError(k.media.get({ mediaId: '4242424242' }), 400, 100, 33, 'parameter'));
await check('kapso error: template does not exist', () => graphError(k.messages.sendTemplate({ ...base, template: { name: 'nao_existe', language: { code: 'pt_BR' } } }), 404, 132001, undefined, 'template'));
await check('kapso error: parameter value', () => graphError(k.messages.sendRaw({ phoneNumberId: PHONE, payload: { messaging_product: 'whatsapp', to: TO, type: 'interactive', interactive: { type: 'button', body: { text: 'x' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'a title longer than twenty' } }] } } } }), 400, 131009, undefined, 'parameter'));
await check('kapso error: unsupported type', () => graphError(k.messages.sendRaw({ phoneNumberId: PHONE, payload: { messaging_product: 'whatsapp', to: TO, type: 'hologram', hologram: {} } }), 400, 131051, undefined, 'media'));
await check('kapso templates delete', async () => {
  const d = await k.templates.delete({ businessAccountId: WABA, name: 'boas_vindas' });
  assert(d.success === true, JSON.stringify(d));
});
await check('kapso media delete', async () => {
  const d = await k.media.delete({ mediaId, phoneNumberId: PHONE });
  assert(d.success === true, JSON.stringify(d));
  await graphError(k.media.get({ mediaId }), 400, 100, 33, 'parameter');
});

// ---- whatsapp-api-js against the API ----
const ponyfill = { fetch: (u, i) => fetch(String(u).replace('https://graph.facebook.com', BASE), i), subtle: crypto.webcrypto.subtle };
const w = new WhatsAppAPI({ token: env.TOKEN, appSecret: env.APP_SECRET, webhookVerifyToken: env.VERIFY_TOKEN, v: 'v24.0', ponyfill });
const wsent = async (msg, context, biz) => {
  const r = await w.sendMessage(PHONE, { phone: TO }, msg, context, biz);
  assert(isWamid(r.messages?.[0]?.id) && r.contacts?.[0]?.wa_id === TO, JSON.stringify(r));
  return r.messages[0].id;
};
let wMedia;
await check('wajs Text with context and biz_opaque_callback_data', () => wsent(new Text('Olá de novo 👋'), env.INBOUND_ID, 'rastreio-1'));
await check('wajs uploadMedia/retrieveMedia/fetchMedia', async () => {
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'capa.png');
  const up = await w.uploadMedia(PHONE, form);
  assert(/^[0-9]+$/.test(up.id), JSON.stringify(up));
  wMedia = up.id;
  const m = await w.retrieveMedia(wMedia, PHONE);
  assert(m.mime_type === 'image/png' && m.id === wMedia, JSON.stringify(m));
  const res = await w.fetchMedia(m.url);
  assert(res.status === 200 && Buffer.from(await res.arrayBuffer()).equals(png), 'fetched bytes');
});
await check('wajs Image by id', () => wsent(new Image(wMedia, true, 'Capa')));
await check('wajs Document/Video/Audio/Sticker by link', async () => {
  await wsent(new Document('https://example.com/nota.pdf', false, 'Nota', 'nota.pdf'));
  await wsent(new Video('https://example.com/v.mp4', false, 'Vídeo'));
  await wsent(new Audio('https://example.com/a.ogg'));
  await wsent(new Sticker('https://example.com/s.webp'));
});
await check('wajs Location/Contacts/Reaction', async () => {
  await wsent(new Location(-46.6333, -23.5505, 'Livraria', 'Av. Paulista, 1000'));
  await wsent(new Contacts([new Name('Ana Souza', 'Ana'), new Phone('+55 11 99999-0000', 'CELL', '5511999990000'), new Email('ana@example.com', 'WORK')]));
  await wsent(new Reaction(env.INBOUND_ID, '😀'));
});
await check('wajs Interactive buttons/list', async () => {
  await wsent(new Interactive(new ActionButtons(new Button('sim', 'Sim'), new Button('nao', 'Não')), new Body('Confirma?'), new Header('Pedido'), new Footer('Livraria')));
  await wsent(new Interactive(new ActionList('Ver opções', new ListSection('Frete', new Row('pac', 'PAC', '5 a 8 dias'), new Row('sedex', 'SEDEX'))), new Body('Escolha o frete')));
});
await check('wajs Interactive product/product_list/catalog/cta/location', async () => {
  await wsent(new Interactive(new ActionProduct(new CatalogProduct('LIVRO-1', CATALOG)), new Body('Um clássico')));
  await wsent(new Interactive(new ActionProductList(CATALOG, new ProductSection('Clássicos', new Product('LIVRO-1'))), new Body('Seleção'), new Header('Livros')));
  await wsent(new Interactive(new ActionCatalog(new Product('LIVRO-1')), new Body('Catálogo')));
  await wsent(new Interactive(new ActionCTA('Abrir', 'https://example.com'), new Body('Veja')));
  await wsent(new Interactive(new ActionLocation(), new Body('Onde você está?')));
});
await check('wajs Template with Currency and DateTime', () => wsent(new Template('pedido_enviado', new Language('pt_BR'),
  new HeaderComponent(new HeaderParameter('456')),
  new BodyComponent(new BodyParameter('Bruno'), new BodyParameter(new Currency(49990, 'BRL', 'R$ 49,99')), new BodyParameter(new DateTime('amanhã'))),
  new URLComponent('BR456'))));
await check('wajs markAsRead with typing indicator', async () => {
  const r = await w.markAsRead(PHONE, env.INBOUND_ID, 'text');
  assert(r.success === true, JSON.stringify(r));
});
await check('wajs deleteMedia', async () => {
  const r = await w.deleteMedia(wMedia, PHONE);
  assert(r.success === true, JSON.stringify(r));
});
await check('wajs error envelope', async () => {
  const bad = new WhatsAppAPI({ token: 'EAAwrong', appSecret: 'x', v: 'v24.0', ponyfill });
  const r = await bad.sendMessage(PHONE, { phone: TO }, new Text('x'));
  assert(r.error?.code === 190 && r.error?.type === 'OAuthException' && r.error?.fbtrace_id, JSON.stringify(r));
});
await check('wajs GET verification helper', () => {
  assert(wajsHook.get({ 'hub.mode': 'subscribe', 'hub.verify_token': env.VERIFY_TOKEN, 'hub.challenge': '42' }) === '42', 'challenge');
});

out({ api_done: true, failures });
process.stdin.resume();
process.stdin.on('end', () => { server.close(); process.exit(0); });
