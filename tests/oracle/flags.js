// The official Node SDK as an oracle for flag decisions: for each settings file, `init()` it
// offline (the settings passed in, a network client of our own that answers every request)
// and call `getFlag` for each case, one at a time (the SDK keeps per-process singletons).
//
//   node flags.js <folder holding node_modules> <input.json>
//
// input.json: {"groups": [{"settings": {..}, "storage": bool, "cases": [{"featureKey": "..", "context": {..}}]}],
//              "segments": [{"dsl": {..}, "customVariables": {..}}]}
// Prints {"flags": [[decision, ..], ..], "segments": [true | false | "throws", ..]}, where a
// decision is {enabled, variables, rolloutKey, rolloutVariationId, experimentKey,
// experimentVariationId, holdouts}: the ids as the `integrations` callback reports them (null
// when it was not called; `holdouts` since 1.40, when it says a holdout holds the user out),
// the variables as `getVariables()` lists them. With `storage`, the group's
// client gets a storage connector of its own that keeps every field it is given, in memory.
'use strict';

const path = require('path');

const { base, sdk, input, ok, silent } = require('./sdk');
const { SegmentEvaluator } = require(
  path.join(base, 'dist/server-unpacked/packages/segmentation-evaluator/evaluators/SegmentEvaluator.js'),
);

// Every request the SDK makes is answered 200 `{}` here; none leaves the process.
const sent = [];
const answer = (request) => {
  sent.push(request);
  return ok();
};
const client = { GET: answer, POST: answer };

async function main() {
  let decision = null;
  const flags = [];
  for (const group of input.groups) {
    const settings = { ...group.settings, sdkMetaInfo: { wasInitializedEarlier: true } };
    // Every group gets a connector of its own: the SDK keeps the last one it was given in a
    // singleton, which a later `init` without one would go on using. One that keeps nothing
    // answers as no storage does.
    const stored = new Map();
    const storage = {
      get: async (featureKey, userId) => stored.get(`${featureKey}\u0000${userId}`),
      set: async (data) => {
        if (!group.storage) return;
        const { featureKey, userId, ...decision } = data;
        stored.set(`${featureKey}\u0000${userId}`, decision);
      },
    };
    const vwo = await sdk.init({
      storage,
      accountId: String(settings.accountId),
      sdkKey: 'oracle-sdk-key',
      settings,
      network: { client },
      integrations: { callback: (properties) => (decision = properties) },
      isUsageStatsDisabled: true,
      logger: silent,
    });
    const results = [];
    for (const { featureKey, context } of group.cases) {
      decision = null;
      const flag = await vwo.getFlag(featureKey, JSON.parse(JSON.stringify(context)));
      results.push({
        enabled: flag.isEnabled(),
        variables: JSON.parse(JSON.stringify(flag.getVariables())),
        rolloutKey: decision?.rolloutKey ?? null,
        rolloutVariationId: decision?.rolloutVariationId ?? null,
        experimentKey: decision?.experimentKey ?? null,
        experimentVariationId: decision?.experimentVariationId ?? null,
        holdouts: decision?.isPartOfHoldout ? decision.holdoutIDs : null,
      });
    }
    flags.push(results);
  }
  const segments = [];
  for (const { dsl, customVariables } of input.segments || []) {
    try {
      segments.push(await new SegmentEvaluator().isSegmentationValid(dsl, customVariables));
    } catch (error) {
      segments.push('throws');
    }
  }
  // Exit once the pipe has taken everything (the SDK leaves timers running).
  process.stdout.write(JSON.stringify({ flags, segments }), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`oracle: ${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
