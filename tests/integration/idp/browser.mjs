#!/usr/bin/env node
// browser.mjs: plays the user's web browser against the test identity
// provider (oidc-provider devInteractions pages), with a cookie jar and no
// dependencies beyond Node's global fetch.
//
//   node browser.mjs AUTH_URL LOGIN
//       Follows the authorization URL, signs in as LOGIN (any password),
//       confirms consent, then GETs the final redirect (the loopback listener
//       of the program under test) and prints that GET's HTTP status.
//       Exit 0: the redirect carried a code and was delivered;
//            3: the redirect carried an OAuth error (it was still delivered);
//            1: anything else went wrong (message on stderr).
//   node browser.mjs --device USER_CODE LOGIN
//       Completes the device verification page: enters USER_CODE, confirms,
//       signs in as LOGIN, consents.  Needs IDP_ISSUER in the environment,
//       unless USER_CODE is a whole verification_uri_complete URL.
//       Prints "approved" and exits 0 on success.
//   BROWSER_ISS=VALUE node browser.mjs AUTH_URL LOGIN
//       The same, but the final redirect reaches the program under test with
//       iss=VALUE (or without iss when VALUE is "-"), as a mix-up attacker's
//       redirect would (RFC 9207).
//   BROWSER_SAVE=FILE node browser.mjs AUTH_URL LOGIN
//       Also writes the final redirect's address (with its code) to FILE,
//       mode 0600: what the user would copy from the address bar.
//   BROWSER_DELIVER=0 node browser.mjs AUTH_URL LOGIN
//       The browser "on another machine": the final redirect is not
//       requested (that machine's 127.0.0.1 is not ours); prints
//       "captured" instead of a status.  Exit codes as above.
//   BROWSER_DENY=1 node browser.mjs AUTH_URL LOGIN
//       Cancels at the sign-in page instead of signing in: the IdP
//       redirects with error=access_denied (exit 3).
//
// SECRETS: none of its own; LOGIN is a throw-away test account name and the
// password sent is a fixed dummy.  Codes and tokens are never printed; the
// address BROWSER_SAVE names holds a code of the local test IdP.

import http from 'node:http';
import { writeFileSync } from 'node:fs';

const MAX_STEPS = 40;
const TIMEOUT_MS = 15000;
const PASSWORD = 'any-password';

function die(msg) {
  process.stderr.write(`browser.mjs: ${msg}\n`);
  process.exit(1);
}

// ---- cookie jar (name -> value, per origin; paths ignored) -------------
const jar = new Map();

// The Set-Cookie lines of a response: Headers.getSetCookie() where Node has
// it (19.7 and later); Debian 12's Node 18 joins them with ", " instead,
// split where a new "name=" starts (an Expires date has no "=").
function setCookies(headers) {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  const joined = headers.get('set-cookie');
  return joined ? joined.split(/,\s*(?=[^;,=\s]+=)/) : [];
}

function storeCookies(url, res) {
  const origin = new URL(url).origin;
  if (!jar.has(origin)) jar.set(origin, new Map());
  const cookies = jar.get(origin);
  for (const line of setCookies(res.headers)) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k, v = ''] = a.split('=');
      const key = k.trim().toLowerCase();
      if (key === 'max-age') return Number(v) <= 0;
      if (key === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
}

function cookieHeader(url) {
  const cookies = jar.get(new URL(url).origin);
  if (!cookies || cookies.size === 0) return undefined;
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

async function request(url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'sasl-oauth2-test-browser' };
  const c = cookieHeader(url);
  if (c) headers.cookie = c;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  let res;
  try {
    res = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    die(`${method} ${redact(url)} failed: ${err.cause?.message || err.message}`);
  }
  storeCookies(url, res);
  const text = await res.text();
  return { res, text };
}

// Never show codes or other query values in messages.
function redact(url) {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(bad url)';
  }
}

// ---- minimal HTML form parsing ------------------------------------------
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos' || l === '#39') return "'";
    if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
    return String.fromCodePoint(parseInt(l.slice(1), 10));
  });
}

function attrs(tag) {
  const out = {};
  const re = /([a-zA-Z_:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m;
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  while ((m = re.exec(inner)) !== null) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function parseForms(html) {
  const forms = [];
  const re = /(<form\b[^>]*>)([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    const a = attrs(m[1]);
    const fields = {};
    for (const input of m[2].match(/<input\b[^>]*>/gi) || []) {
      const ia = attrs(input);
      if (ia.name !== undefined) fields[ia.name] = ia.value ?? '';
    }
    forms.push({ action: a.action, method: (a.method || 'get').toUpperCase(), fields });
  }
  return forms;
}

function pageSummary(html) {
  const title = /<title>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim() || '(no title)';
  let text = html
    .replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<details[\s\S]*?<\/details>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
  text = decodeEntities(text);
  return `"${title}": ${text}`;
}

// ---- the walk ----------------------------------------------------------------
async function walk(startUrl, { login, userCode, device }) {
  let deny = process.env.BROWSER_DENY === '1';
  const idpOrigin = new URL(startUrl).origin;
  let url = startUrl;
  let method = 'GET';
  let form;
  const submitted = new Set();

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const { res, text } = await request(url, { method, form });
    method = 'GET';
    form = undefined;

    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.get('location');
      if (!loc) die(`${res.status} without Location from ${redact(url)}`);
      const next = new URL(loc, url).href;
      if (new URL(next).origin !== idpOrigin) {
        if (device) die(`device flow unexpectedly redirected off the IdP to ${redact(next)}`);
        return deliver(next);
      }
      url = next;
      continue;
    }

    if (res.status !== 200) die(`HTTP ${res.status} at ${redact(url)}: ${pageSummary(text)}`);

    // The user cancels: the layout's "[ Cancel ]" link (the abort URL).
    if (deny && !device) {
      const cancel = /<a\s[^>]*href="([^"]*)"[^>]*>\s*\[\s*Cancel\s*\]\s*<\/a>/i.exec(text);
      if (!cancel) die(`no Cancel link at ${redact(url)}: ${pageSummary(text)}`);
      url = new URL(decodeEntities(cancel[1]), url).href;
      deny = false;
      continue;
    }

    const forms = parseForms(text).filter((f) => f.method === 'POST');
    if (forms.length === 0) {
      if (device && /Sign-in Success/i.test(text)) {
        process.stdout.write('approved\n');
        return 0;
      }
      die(`no form to submit at ${redact(url)}: ${pageSummary(text)}`);
    }
    const f = forms[0];
    const fields = { ...f.fields };
    let kind;
    if ('login' in fields) {
      kind = 'login';
      fields.login = login;
      fields.password = PASSWORD;
    } else if (fields.prompt === 'consent') {
      kind = 'consent';
    } else if (fields.confirm === 'yes') {
      kind = 'device-confirm';
    } else if ('user_code' in fields) {
      kind = 'device-code';
      if (submitted.has(kind)) die(`the IdP refused the user code: ${pageSummary(text)}`);
      fields.user_code = userCode;
    } else {
      die(`unknown form at ${redact(url)}: ${pageSummary(text)}`);
    }
    if (kind === 'login' && submitted.has(kind)) die(`login as "${login}" was refused: ${pageSummary(text)}`);
    submitted.add(kind);
    url = new URL(f.action || url, url).href;
    method = 'POST';
    form = fields;
  }
  die(`gave up after ${MAX_STEPS} steps at ${redact(url)}`);
  return 1;
}

// The final GET uses node:http, not fetch: fetch refuses the "bad ports" of
// the Fetch standard (e.g. 6000, 10080), and a loopback listener may sit on any.
function plainGet(target) {
  const u = new URL(target);
  if (u.protocol !== 'http:') {
    return fetch(target, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) })
      .then(async (res) => { await res.arrayBuffer(); return res.status; });
  }
  return new Promise((resolve, reject) => {
    const req = http.get(u, { timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

async function deliver(target) {
  const u = new URL(target);
  if (process.env.BROWSER_ISS === '-') {
    u.searchParams.delete('iss');
    target = u.href;
  } else if (process.env.BROWSER_ISS !== undefined) {
    u.searchParams.set('iss', process.env.BROWSER_ISS);
    target = u.href;
  }
  const error = u.searchParams.get('error');
  if (process.env.BROWSER_SAVE) {
    writeFileSync(process.env.BROWSER_SAVE, `${target}\n`, { mode: 0o600 });
  }
  if (process.env.BROWSER_DELIVER === '0') {
    process.stdout.write('captured\n');
  } else {
    let status;
    try {
      status = await plainGet(target);
    } catch (err) {
      die(`GET of the final redirect ${redact(target)} failed: ${err.cause?.message || err.message}`);
    }
    process.stdout.write(`${status}\n`);
  }
  if (error) {
    const desc = u.searchParams.get('error_description');
    process.stderr.write(`browser.mjs: the IdP redirected with error=${error}${desc ? ` (${desc})` : ''}\n`);
    return 3;
  }
  if (!u.searchParams.has('code')) {
    process.stderr.write('browser.mjs: the final redirect carries neither code nor error\n');
    return 1;
  }
  return 0;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--device') {
    if (args.length !== 3) die('usage: browser.mjs --device USER_CODE LOGIN');
    const [, code, login] = args;
    let start;
    let userCode = code;
    if (/^https?:\/\//.test(code)) {
      start = code;
      userCode = new URL(code).searchParams.get('user_code') || '';
    } else {
      const issuer = process.env.IDP_ISSUER;
      if (!issuer) die('set IDP_ISSUER (or pass the verification_uri_complete URL)');
      start = `${issuer.replace(/\/$/, '')}/device`;
    }
    return walk(start, { login, userCode, device: true });
  }
  if (args.length !== 2) die('usage: browser.mjs AUTH_URL LOGIN | --device USER_CODE LOGIN');
  const [authUrl, login] = args;
  try {
    new URL(authUrl);
  } catch {
    die('AUTH_URL is not a URL');
  }
  return walk(authUrl, { login, device: false });
}

process.exitCode = await main();
