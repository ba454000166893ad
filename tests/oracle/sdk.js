// What the decision and event oracles (flags.js, events.js, bench.js) start with: the guard,
// the SDK from the folder on the command line, the input file, a 200 `{}` answer for a network
// client of their own (so no request leaves the process), and a logger that says nothing.
'use strict';

const path = require('path');
const fs = require('fs');

require('./guard');

// The SDK chains `.then(..)` on segment evaluations without a `catch`: a segment that throws
// (a malformed user agent in `decodeURIComponent`, say) rejects `getFlag`, which answers its
// error flag, and also leaves a rejection nobody handles, which would end this process.
process.on('unhandledRejection', () => {});

const [root, inputFile] = process.argv.slice(2);
const base = path.join(path.resolve(root), 'node_modules', 'vwo-fme-node-sdk');
const sdk = require(base);
const { ResponseModel } = require(path.join(base, 'dist/server-unpacked/packages/network-layer/models/ResponseModel.js'));
const input = JSON.parse(fs.readFileSync(inputFile, 'utf8'));

/** The answer to every request the SDK makes: 200 `{}`. */
function ok() {
  const response = new ResponseModel();
  response.setStatusCode(200);
  response.setData({});
  return Promise.resolve(response);
}

const silent = { level: 'ERROR', transport: { level: 'ERROR', log: () => {} } };

module.exports = { base, sdk, input, ok, silent };
