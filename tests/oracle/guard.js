// Loaded before the SDK by every oracle: every connection to a host other than loopback is
// refused, so nothing an SDK under test does can leave this machine.
'use strict';

const http = require('http');
const https = require('https');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;
function hostOf(args) {
  const first = args[0];
  if (typeof first === 'string' || first instanceof URL) return new URL(first).hostname;
  return String((first && (first.hostname || first.host)) || '').replace(/:\d+$/, '');
}
for (const mod of [http, https]) {
  for (const name of ['request', 'get']) {
    const original = mod[name];
    mod[name] = function guarded(...args) {
      const host = hostOf(args);
      if (!LOOPBACK.test(host)) throw new Error(`oracle: connection to ${host} refused`);
      return original.apply(this, args);
    };
  }
}
globalThis.fetch = async () => {
  throw new Error('oracle: fetch refused');
};
