#!/usr/bin/env node
// pollproxy.mjs: a flaky network in front of the IdP's token endpoint, for
// the device polling test (t-device-poll.sh), on 127.0.0.1 only, plain
// http, Node built-ins only.
//
//   node pollproxy.mjs PORT UPSTREAM
//       Listens on 127.0.0.1:PORT; prints "ready <base URL>" on stdout.
//       UPSTREAM is the IdP's token endpoint (a loopback URL).
//
// POST <base>/flaky/token is forwarded to UPSTREAM, except that two polls
// get no answer at all, the blips a device login must ride out (RFC 8628
// 3.5 leaves transport errors to the client):
//   - the first request: the connection is reset on arrival;
//   - the first request after an answer that said authorization_pending:
//     read whole, then the connection is closed without a byte.
// POST <base>/down/token: every request read, then closed unanswered (a
// network that stays down until the login's deadline).
// GET <base>/_stats prints {"dropped","forwarded","pending","ok"}: the
// requests not answered, those forwarded, and the forwarded answers that
// said authorization_pending or carried an access token.
//
// SECRETS: forwarded requests and answers hold the test IdP's client secret,
// device code and tokens; they pass through memory only and are never
// logged (only the outcome of each request, to stderr).

import http from 'node:http';

const [portArg, UPSTREAM] = process.argv.slice(2);
const PORT = Number(portArg);
if (!Number.isInteger(PORT) || PORT <= 0 || !UPSTREAM) {
  console.error('usage: pollproxy.mjs PORT UPSTREAM');
  process.exit(2);
}
const BASE = `http://127.0.0.1:${PORT}`;

const stats = { dropped: 0, forwarded: 0, pending: 0, ok: 0 };
let firstSeen = false;
let pendingSeen = false;
let dropNext = false;

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function forward(req, res, body) {
  const headers = { ...req.headers };
  delete headers.host;
  delete headers['content-length'];
  delete headers.connection;
  let status = 502;
  let text = '';
  let type = 'text/plain';
  try {
    const r = await fetch(UPSTREAM, { method: 'POST', headers, body, redirect: 'manual' });
    status = r.status;
    type = r.headers.get('content-type') || type;
    text = await r.text();
  } catch (err) {
    text = `pollproxy: ${err.message}`;
  }
  stats.forwarded += 1;
  let answer = {};
  try {
    answer = JSON.parse(text);
  } catch {
    // not JSON: counted as forwarded only
  }
  if (answer.error === 'authorization_pending') {
    stats.pending += 1;
    dropNext = !pendingSeen;
    pendingSeen = true;
  }
  if (answer.access_token) stats.ok += 1;
  console.error(`pollproxy: forwarded: HTTP ${status} ${answer.error || (answer.access_token ? 'token' : '')}`);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function drop(req, how) {
  stats.dropped += 1;
  console.error(`pollproxy: dropped (${how})`);
  if (how === 'reset' && req.socket.resetAndDestroy) req.socket.resetAndDestroy();
  else req.socket.destroy();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, BASE);
  if (req.method === 'GET' && url.pathname === '/_stats') {
    json(res, 200, stats);
    return;
  }
  if (req.method !== 'POST' || !['/flaky/token', '/down/token'].includes(url.pathname)) {
    json(res, 404, { error: 'not_found' });
    return;
  }
  if (url.pathname === '/flaky/token' && !firstSeen) {
    firstSeen = true;
    drop(req, 'reset');
    return;
  }
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    if (url.pathname === '/down/token' || dropNext) {
      dropNext = false;
      drop(req, 'close');
      return;
    }
    forward(req, res, Buffer.concat(chunks));
  });
});
server.keepAliveTimeout = 1000;

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready ${BASE}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
