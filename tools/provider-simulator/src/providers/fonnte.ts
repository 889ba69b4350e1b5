import type { FonnteConfig } from '../config';
import { digits, isObj, str } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput } from './types';

////////// Fonnte (unofficial gateway): POST /fonnte/send with Authorization: <device token>,
// form-encoded or multipart (JSON accepted too); target is a comma-separated list of
// number|name|var…; success {status:true,id:[…],target:[…],process:"pending"}; errors
// {status:false,reason} with HTTP 200. Webhooks (message status: device,id,stateid,status,state;
// incoming: device,sender,message,…) are unsigned: the callback URL carries a secret token.

const ok200 = (body: object): Reply => ({ status: 200, body });
const refuse = (reason: string, httpStatus = 200): Reply => ({ status: httpStatus, body: { reason, status: false } });

/** Our status → Fonnte's (status, state). A failure's status is the fail code (invalid, expired, url unreachable…). */
function fonnteStatus(status: string, code: string | number | undefined): { status: string; state: string } {
  if (status === 'failed') return { status: String(code ?? 'invalid'), state: '' };
  if (status === 'sent') return { status: 'sent', state: 'sent' };
  if (status === 'delivered' || status === 'read') return { status: 'sent', state: status };
  return { status, state: '' };
}

export function createFonnte(cfg: FonnteConfig): ProviderSim {
  let nextId = 80_367_170;
  let nextState = 1_000;
  let nextRequest = 5_000_000;
  const post = (url: string, payload: object) => ({ url, body: JSON.stringify(payload), headers: { 'Content-Type': 'application/json' } });

  return {
    name: 'fonnte',
    sendPath: '/fonnte/send',
    authenticate({ headers }) {
      return headers.authorization === cfg.token ? null : refuse('token invalid');
    },
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      const target = str(b.target);
      const cc = str(b.countryCode) ?? '62';
      if (!target) return { ok: false, reply: refuse('target invalid') };
      if (!str(b.message) && !str(b.url) && b.file === undefined) return { ok: false, reply: refuse('message invalid') };
      const numbers: string[] = [];
      for (const entry of target.split(',').map((t) => t.trim()).filter(Boolean)) {
        let n = (entry.split('|')[0] ?? '').replace(/[\s\-+]/g, '');
        if (!/^\d{7,16}$/.test(n)) return { ok: false, reply: refuse('target invalid') };
        if (n.startsWith('0') && cc !== '0') n = cc + n.slice(1);
        numbers.push(n);
      }
      if (!numbers.length) return { ok: false, reply: refuse('target invalid') };
      return { ok: true, value: { recipients: numbers.map((n) => `+${n}`) } };
    },
    accept(_input, parsed) {
      const messages = parsed.recipients.map((to) => ({ id: String(nextId++), to }));
      return {
        messages,
        reply: ok200({ detail: 'success! message in queue', id: messages.map((m) => m.id), process: 'pending', requestid: nextRequest++, status: true, target: messages.map((m) => digits(m.to)) }),
      };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'server_error') {
        const status = o.httpStatus ?? 502;
        return { status, contentType: 'text/html', body: `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>` };
      }
      if (kind === 'rate_limit') return refuse(o.message ?? String(o.code ?? 'rate limit exceeded, please wait'), o.httpStatus ?? 200);
      return refuse(o.message ?? String(o.code ?? 'insufficient quota'), o.httpStatus ?? 200);
    },
    defaultFailCode: 'invalid',
    statusUrl: () => cfg.webhookUrl,
    inboundUrl: () => cfg.webhookUrl,
    urlSecrets: () => [cfg.webhookToken],
    statusWebhook(m, status, code, url) {
      return post(url, { device: cfg.device, id: m.id, stateid: String(nextState++), ...fonnteStatus(status, code) });
    },
    inboundWebhook({ from, text, name }, url) {
      const id = String(nextId++);
      return { id, ...post(url, {
        quick: false, device: cfg.device, pesan: text, pengirim: digits(from), message: text, text: '', sender: digits(from), member: '', name,
        location: '', pollname: '', choices: [], url: '', filename: '', extension: '', inboxid: Number(id),
      }) };
    },
    extraRoutes: [{
      // the device profile (POST /device with the device token): what a "test connection" reads
      method: 'post', kind: 'account', path: '/fonnte/device',
      handle({ headers }) {
        if (headers.authorization !== cfg.token) return refuse('token invalid');
        return ok200({ device: cfg.device, device_status: 'connect', expired: '31 December 2030', messages: nextId - 80_367_170, name: 'SICANTIK (simulated)', package: 'Reguler', quota: '10000', status: true });
      },
    }],
  };
}
