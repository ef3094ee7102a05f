// exosmtp.mjs: a scripted SMTP submission server that answers an XOAUTH2
// login the way Exchange Online (smtp.office365.com:587) does, for
// t-doctor.sh.  Node built-ins only; 127.0.0.1 only.
//
//   node exosmtp.mjs PORT CERT KEY ANSWERFILE
//
// STARTTLS with CERT/KEY; AUTH is offered only after it (LOGIN XOAUTH2,
// as Exchange does).  Each AUTH XOAUTH2 is checked for the RFC-shaped
// initial response (user=...^Aauth=Bearer ...^A^A) and answered with the
// reply named by the first line of ANSWERFILE, read at that moment:
//   ok        235 2.7.0 Authentication successful
//   5.7.3     no service principal / wrong Object ID / no mailbox permission
//   5.7.139   SMTP AUTH disabled for the tenant
//   5.7.139m  SMTP AUTH disabled for the mailbox
//   5.7.30    basic authentication refused for client submission
//   5.5.127   token about to expire (High Volume Email)
//   flood     not Exchange: a hostile server that sends 334 challenges
//             without end (doctor must give up)
// The texts are Exchange Online's as Microsoft's documentation and the
// setup guides quote them.  Exchange fails at once: no 334 challenge.
// Logs "auth user=<mailbox> answer=<name>" to stdout (never the token).
// Prints "ready smtp://127.0.0.1:PORT" once it listens.

import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

const [port, certFile, keyFile, answerFile] = process.argv.slice(2);
const HOST = 'SN4PR0201CA0045.outlook.office365.com';
const TAG = '[SN4PR0201CA0045.namprd02.prod.outlook.com 2026-12-05T18:40:00.000Z 08DE1A2B3C4D5E6F]';
const ANSWERS = {
  ok: '235 2.7.0 Authentication successful',
  '5.7.3': `535 5.7.3 Authentication unsuccessful ${TAG}`,
  '5.7.139': `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. ${TAG}`,
  '5.7.139m': `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. ${TAG}`,
  '5.7.30': `550 5.7.30 Basic authentication is not supported for Client Submission. ${TAG}`,
  '5.5.127': `501 5.5.127 Authentication failure, Token will expire soon ${TAG}`,
};
const secure = { cert: readFileSync(certFile), key: readFileSync(keyFile) };

function session(socket) {
  let sock = socket;
  let tlsOn = false;
  let buf = '';
  const send = (l) => sock.write(`${l}\r\n`);
  const ehlo = () => {
    const caps = [`250-${HOST} Hello [127.0.0.1]`, '250-SIZE 157286400', '250-PIPELINING',
      '250-DSN', '250-ENHANCEDSTATUSCODES'];
    caps.push(tlsOn ? '250-AUTH LOGIN XOAUTH2' : '250-STARTTLS');
    caps.push('250-8BITMIME', '250-BINARYMIME', '250-CHUNKING', '250 SMTPUTF8');
    caps.forEach(send);
  };
  const onLine = (line) => {
    const [verb, ...rest] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO': ehlo(); break;
      case 'STARTTLS':
        if (tlsOn) { send('503 5.5.2 Only one STARTTLS command can be issued per session'); break; }
        send('220 2.0.0 SMTP server ready');
        sock.removeAllListeners('data');
        sock = new tls.TLSSocket(sock, { isServer: true, ...secure });
        tlsOn = true;
        buf = '';
        sock.on('data', onData);
        sock.on('error', () => {});
        break;
      case 'AUTH': {
        if (!tlsOn) { send('504 5.7.4 Unrecognized authentication type'); break; }
        if ((rest[0] || '').toUpperCase() !== 'XOAUTH2' || !rest[1]) {
          send('504 5.7.4 Unrecognized authentication type'); break;
        }
        const ir = Buffer.from(rest[1], 'base64').toString('latin1');
        const m = /^user=([^\x01]+)\x01auth=Bearer [A-Za-z0-9\-._~+/]+=*\x01\x01$/.exec(ir);
        if (!m) { send(`535 5.7.3 Authentication unsuccessful ${TAG}`); break; }
        const name = readFileSync(answerFile, 'utf8').split('\n')[0].trim();
        console.log(`auth user=${m[1]} answer=${name}`);
        if (name === 'flood') {
          sock.write('334 e30=\r\n'.repeat(5000));
          break;
        }
        send(ANSWERS[name] || ANSWERS['5.7.3']);
        break;
      }
      case 'QUIT': send(`221 2.0.0 Service closing transmission channel`); sock.end(); break;
      default: send('500 5.3.3 Unrecognized command');
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
  send(`220 ${HOST} Microsoft ESMTP MAIL Service ready at Sat, 5 Dec 2026 18:40:00 +0000`);
}

const server = net.createServer(session);
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready smtp://127.0.0.1:${port}`);
});
