// exoimap.mjs: a scripted IMAP server that answers an XOAUTH2 login the
// way Exchange Online (outlook.office365.com:143/993) does, for
// t-doctor.sh.  Node built-ins only; 127.0.0.1 only.
//
//   node exoimap.mjs PORT CERT KEY ANSWERFILE
//
// STARTTLS with CERT/KEY, SASL-IR and AUTH=XOAUTH2 as Exchange offers
// them.  Each AUTHENTICATE XOAUTH2 is checked for the RFC-shaped initial
// response and answered by the first line of ANSWERFILE, read then:
//   ok     TAG OK AUTHENTICATE completed.
//   fail   TAG NO AUTHENTICATE failed.   (Exchange sends no challenge)
// Logs "auth user=<mailbox> answer=<name>" (never the token).
// Prints "ready imap://127.0.0.1:PORT" once it listens.

import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

const [port, certFile, keyFile, answerFile] = process.argv.slice(2);
const secure = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
const CAPS = 'IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+';

function session(socket) {
  let sock = socket;
  let tlsOn = false;
  let buf = '';
  const send = (l) => sock.write(`${l}\r\n`);
  const onLine = (line) => {
    const [tag, verb = '', ...rest] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'CAPABILITY':
        send(`* CAPABILITY ${CAPS}${tlsOn ? '' : ' STARTTLS'}`);
        send(`${tag} OK CAPABILITY completed.`);
        break;
      case 'STARTTLS':
        send(`${tag} OK Begin TLS negotiation now.`);
        sock.removeAllListeners('data');
        sock = new tls.TLSSocket(sock, { isServer: true, ...secure });
        tlsOn = true;
        buf = '';
        sock.on('data', onData);
        sock.on('error', () => {});
        break;
      case 'AUTHENTICATE': {
        if ((rest[0] || '').toUpperCase() !== 'XOAUTH2' || !rest[1]) {
          send(`${tag} NO AUTHENTICATE failed.`);
          break;
        }
        const ir = Buffer.from(rest[1], 'base64').toString('latin1');
        const m = /^user=([^\x01]+)\x01auth=Bearer [A-Za-z0-9\-._~+/]+=*\x01\x01$/.exec(ir);
        if (!m) { send(`${tag} NO AUTHENTICATE failed.`); break; }
        const name = readFileSync(answerFile, 'utf8').split('\n')[0].trim();
        console.log(`auth user=${m[1]} answer=${name}`);
        send(name === 'ok' ? `${tag} OK AUTHENTICATE completed.` : `${tag} NO AUTHENTICATE failed.`);
        break;
      }
      case 'LOGOUT':
        send('* BYE Microsoft Exchange Server IMAP4 server signing off.');
        send(`${tag} OK LOGOUT completed.`);
        sock.end();
        break;
      default: send(`${tag} BAD Command Error. 12`);
    }
  };
  const onData = (d) => {
    buf += d.toString('latin1');
    if (buf.length > 65536) { sock.destroy(); return; }
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  };
  sock.on('data', onData);
  sock.on('error', () => {});
  send('* OK The Microsoft Exchange IMAP4 service is ready. [UwBOADQAUABSADAAMgAwADEAQwBBADAAMAA0ADUA]');
}

net.createServer(session).listen(Number(port), '127.0.0.1', () => {
  console.log(`ready imap://127.0.0.1:${port}`);
});
