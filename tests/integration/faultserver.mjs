#!/usr/bin/env node
// faultserver.mjs: a misbehaving OAuth 2.0 token endpoint for the fault
// tests (t-faults.sh), on 127.0.0.1 only, Node built-ins only.
//
//   node faultserver.mjs PORT [CERT KEY]
//       Listens on 127.0.0.1:PORT, plain http, or https with the PEM
//       certificate and key given.  Prints "ready <base URL>" on stdout.
//
// The first path segment picks the fault, so one server serves them all:
// POST <base>/<fault>/token.  Faults:
//   ok              200, a valid Bearer token and a rotated refresh token
//   hang            reads the request, never answers (socket kept open)
//   slow            200 and headers at once, then one body byte every 0.5 s,
//                   forever (a trickle that never completes)
//   e500            500 with an HTML page
//   e500json        500 with {"error":"server_error"}
//   e503json        503 with {"error":"service_unavailable"} (not an RFC
//                   6749 code: only the HTTP status says "try later")
//   e429            429, Retry-After: 120, plain-text body
//   e429json        429, Retry-After: 120, {"error":"too_many_requests"}
//   e429junk        429, a Retry-After that is neither a number nor a date
//   e503date        503, Retry-After: an HTTP-date 2 minutes ahead,
//                   {"error":"temporarily_unavailable"}
//   badjson         200 with an HTML page (a captive portal, say)
//   truncated       200, a JSON object cut in the middle (complete HTTP)
//   cut             200, Content-Length promises more, then the connection
//                   closes mid-body
//   huge            200 with a 10 MB body, Content-Length set
//   hugechunked     the same, chunked (no length known in advance)
//   noat            200, no access_token
//   notype          200, no token_type
//   wrongtype       200, token_type "mac"
//   badtoken        200, an access_token with a space and a newline in it
//   invalid_grant   400 {"error":"invalid_grant"}
//   invalid_client  401 {"error":"invalid_client"}, WWW-Authenticate: Basic
//   empty           200 with an empty body
// GET <base>/_stats prints {"<fault>": requests, ...}.
//
// Device authorization (RFC 8628) as providers answer it, for the polling
// schedule: POST <base>/<model>/devicecode, then polls at
// <base>/<model>/token.  Each device code's first poll gets
// authorization_pending, its second slow_down, its third a token.  Models:
//   entra       Microsoft Entra's shape (its documented v2.0 devicecode
//               answer): "interval": 5, no verification_uri_complete, and a
//               "message" with the instructions to show the user
//   nointerval  only what RFC 8628 section 3.2 requires: no "interval"
//               (the client must then wait 5 s), no message
// GET <base>/_polls prints {"<model>": [ms from the device authorization to
// each poll, ...]}.
//
// Capturing proxy (t-secrets.sh): with FS_UPSTREAM=<url> and
// FS_CAPTURE=<file> in the environment, <base>/proxy/<path> is forwarded to
// <url>/<path> and each exchange is appended to FILE as one JSON line
// {"path","authorization","request","response"}: everything the program
// under test sent and got, so that the test knows every secret there was.
//
// SECRETS: the fault endpoints hand out made-up tokens and never log
// request bodies (only the names of the form fields, to stderr).  The
// capture FILE holds real secrets of the test IdP by design; the test keeps
// it out of what it scans and it dies with the test's work dir.

import http from 'node:http';
import https from 'node:https';
import { appendFileSync, readFileSync } from 'node:fs';

const [portArg, certFile, keyFile] = process.argv.slice(2);
const PORT = Number(portArg);
if (!Number.isInteger(PORT) || PORT <= 0) {
  console.error('usage: faultserver.mjs PORT [CERT KEY]');
  process.exit(2);
}
const TLS = Boolean(certFile && keyFile);
const BASE = `${TLS ? 'https' : 'http'}://127.0.0.1:${PORT}`;

const stats = {};
let serial = 0;
const timers = new Set();

function json(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function text(res, status, body, type = 'text/html', headers = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

// Writes total bytes of a never-ending JSON string, honouring backpressure,
// until done or the client goes away.
function stream(res, total) {
  const chunk = Buffer.alloc(64 * 1024, 'A');
  const head = Buffer.from('{"access_token":"');
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      let b = sent === 0 ? head : chunk;
      if (sent + b.length > total) b = b.subarray(0, total - sent);
      sent += b.length;
      if (!res.write(b)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => { sent = total; });
  pump();
}

function token(res) {
  serial += 1;
  json(res, 200, {
    access_token: `fault-ok-access-${process.pid}-${serial}`,
    token_type: 'Bearer',
    expires_in: 600,
    refresh_token: `fault-ok-refresh-${process.pid}-${serial}`,
    scope: 'openid offline_access',
  });
}

const faults = {
  ok: token,
  hang: () => {},
  slow: (res, req) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"access_token":"');
    const t = setInterval(() => res.write('A'), 500);
    timers.add(t);
    req.socket.on('close', () => { clearInterval(t); timers.delete(t); });
  },
  e500: (res) => text(res, 500, '<html><body><h1>500 Internal Server Error</h1></body></html>\n'),
  e500json: (res) => json(res, 500, { error: 'server_error', error_description: 'injected fault' }),
  e503json: (res) => json(res, 503, { error: 'service_unavailable', error_description: 'injected fault' }),
  e429: (res) => text(res, 429, 'Too Many Requests\n', 'text/plain', { 'retry-after': '120' }),
  e429json: (res) => json(res, 429, { error: 'too_many_requests', error_description: 'slow down' },
    { 'retry-after': '120' }),
  e429junk: (res) => text(res, 429, 'Too Many Requests\n', 'text/plain',
    { 'retry-after': 'soon; see https://status.example/?q=<b>x</b>' }),
  e503date: (res) => json(res, 503, { error: 'temporarily_unavailable' },
    { 'retry-after': new Date(Date.now() + 120000).toUTCString() }),
  badjson: (res) => text(res, 200, '<html><body>Please sign in to the hotel Wi-Fi</body></html>\n'),
  truncated: (res) => text(res, 200, '{"access_token":"fault-trunc","token_type":"Bea', 'application/json'),
  cut: (res, req) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 400 });
    res.write('{"access_token":"fault-cut","token_type":"Bearer","exp');
    setTimeout(() => req.socket.destroy(), 100);
  },
  huge: (res) => {
    const total = 10 * 1024 * 1024;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': total });
    stream(res, total);
  },
  hugechunked: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    stream(res, 10 * 1024 * 1024);
  },
  noat: (res) => json(res, 200, { token_type: 'Bearer', expires_in: 600 }),
  notype: (res) => json(res, 200, { access_token: 'fault-notype', expires_in: 600 }),
  wrongtype: (res) => json(res, 200, { access_token: 'fault-mac', token_type: 'mac', expires_in: 600 }),
  badtoken: (res) => json(res, 200, { access_token: 'fault bad\ntoken', token_type: 'Bearer' }),
  invalid_grant: (res) => json(res, 400, {
    error: 'invalid_grant', error_description: 'injected: refresh token revoked',
  }),
  invalid_client: (res) => json(res, 401, {
    error: 'invalid_client', error_description: 'injected: client authentication failed',
  }, { 'www-authenticate': 'Basic realm="token"' }),
  empty: (res) => text(res, 200, '', 'application/json'),
};

const devices = new Map(); // device_code -> { model, t0, polls }
const polls = {};

const deviceModels = {
  entra: (code, user) => ({
    user_code: user,
    device_code: code,
    verification_uri: 'https://microsoft.com/devicelogin',
    expires_in: 900,
    interval: 5,
    message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${user} to authenticate.`,
  }),
  nointerval: (code, user) => ({
    user_code: user,
    device_code: code,
    verification_uri: `${BASE}/device`,
    expires_in: 900,
  }),
};

function deviceAuthorization(res, model) {
  serial += 1;
  const code = `fault-device-${process.pid}-${serial}`;
  const user = `WDJB-MJH${serial}`;
  devices.set(code, { model, t0: Date.now(), polls: 0 });
  json(res, 200, deviceModels[model](code, user));
}

function devicePoll(res, model, form) {
  const d = devices.get(form.get('device_code') || '');
  if (!d || d.model !== model ||
      form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:device_code') {
    json(res, 400, { error: 'invalid_grant', error_description: 'unknown device code' });
    return;
  }
  d.polls += 1;
  (polls[model] = polls[model] || []).push(Date.now() - d.t0);
  if (d.polls === 1) json(res, 400, { error: 'authorization_pending' });
  else if (d.polls === 2) json(res, 400, { error: 'slow_down' });
  else token(res);
}

const UPSTREAM = process.env.FS_UPSTREAM;
const CAPTURE = process.env.FS_CAPTURE;

async function proxy(req, res, rest) {
  const chunks = [];
  for await (const d of req) chunks.push(d);
  const body = Buffer.concat(chunks);
  const headers = { ...req.headers };
  delete headers.host;
  delete headers['content-length'];
  delete headers.connection;
  let status = 502;
  let text = '';
  let type = 'text/plain';
  try {
    const r = await fetch(`${UPSTREAM}${rest}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      redirect: 'manual',
    });
    status = r.status;
    type = r.headers.get('content-type') || type;
    text = await r.text();
  } catch (err) {
    text = `proxy: ${err.message}`;
  }
  appendFileSync(CAPTURE, `${JSON.stringify({
    path: rest,
    authorization: req.headers.authorization || '',
    request: body.toString(),
    response: text,
  })}\n`);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handler(req, res) {
  const url = new URL(req.url, BASE);
  if (UPSTREAM && CAPTURE && url.pathname.startsWith('/proxy/')) {
    proxy(req, res, req.url.slice('/proxy'.length));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_stats') {
    json(res, 200, stats);
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_polls') {
    json(res, 200, polls);
    return;
  }
  const dm = /^\/([a-z]+)\/(devicecode|token)$/.exec(url.pathname);
  if (req.method === 'POST' && dm && deviceModels[dm[1]]) {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      stats[`${dm[1]}_${dm[2]}`] = (stats[`${dm[1]}_${dm[2]}`] || 0) + 1;
      if (dm[2] === 'devicecode') deviceAuthorization(res, dm[1]);
      else devicePoll(res, dm[1], new URLSearchParams(Buffer.concat(chunks).toString()));
    });
    return;
  }
  const m = /^\/([a-z0-9_]+)\/token$/.exec(url.pathname);
  if (req.method !== 'POST' || !m || !faults[m[1]]) {
    json(res, 404, { error: 'not_found' });
    return;
  }
  const fault = m[1];
  const body = [];
  req.on('data', (d) => body.push(d));
  req.on('end', () => {
    stats[fault] = (stats[fault] || 0) + 1;
    // field names only: the values are secrets (client secret, tokens)
    const names = [...new URLSearchParams(Buffer.concat(body).toString()).keys()];
    console.error(`faultserver: ${fault}: POST fields ${names.join(',')}`);
    faults[fault](res, req);
  });
}

const server = TLS
  ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handler)
  : http.createServer(handler);
// "hang" and "slow" must outlive the client's own timeouts.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 1000;
server.on('tlsClientError', (err) => console.error(`faultserver: TLS: ${err.code || err.message}`));

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready ${BASE}\n`);
});

function shutdown() {
  for (const t of timers) clearInterval(t);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
