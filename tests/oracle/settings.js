// The official Node SDK as an oracle: for each settings document, does a webhook-triggered
// `updateSettings()` of vwo-fme-node-sdk take it?
//
//   node settings.js <folder holding node_modules> <documents.json>
//
// documents.json is a JSON array of strings, each the raw bytes an origin would serve. Each is
// served in turn from a loopback origin (the SDK's `gatewayService`), `client.updateSettings()`
// fetches it from `/server-side/v2-pull` and validates it exactly as it does for a real
// webhook, and the verdict is printed: a JSON array with, per document, "accepted" (the client
// now holds it), "refused" (it kept its settings), or "crashed" (it took the document but
// failed while indexing it, and logged an error).
//
// Nothing leaves this machine: every connection to a host other than loopback is refused
// before the SDK is loaded (the SDK would otherwise report errors to VWO).
'use strict';

const http = require('http');
const path = require('path');
const fs = require('fs');

require('./guard');

const [root, documentsFile] = process.argv.slice(2);
const sdk = require(path.join(path.resolve(root), 'node_modules', 'vwo-fme-node-sdk'));
const documents = JSON.parse(fs.readFileSync(documentsFile, 'utf8'));

// A valid document to start from; `wasInitializedEarlier` keeps init from reporting to VWO.
const BASE = {
  version: 1,
  accountId: 1,
  sdkKey: 'oracle',
  campaigns: [],
  features: [],
  sdkMetaInfo: { wasInitializedEarlier: true },
};

async function main() {
  let served = '';
  const origin = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(served);
  });
  await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const errors = [];
  const client = await sdk.init({
    sdkKey: 'oracle-sdk-key',
    accountId: '1',
    settings: BASE,
    gatewayService: { url: `http://127.0.0.1:${origin.address().port}` },
    logger: { level: 'ERROR', transport: { level: 'ERROR', log: (_level, message) => errors.push(message) } },
  });
  const verdicts = [];
  for (const document of documents) {
    served = document;
    const sentinel = {};
    client.originalSettings = sentinel;
    errors.length = 0;
    await client.updateSettings(undefined, true);
    const taken = client.originalSettings !== sentinel;
    const failed = errors.some((e) => e.includes('UPDATING_CLIENT_INSTANCE_FAILED') || e.includes('updat'));
    if (process.env.ORACLE_DEBUG) process.stderr.write(JSON.stringify(errors) + "\n");
    verdicts.push(!taken ? 'refused' : failed ? 'crashed' : 'accepted');
  }
  process.stdout.write(JSON.stringify(verdicts));
  origin.close();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`oracle: ${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
