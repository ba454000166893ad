# The official Python SDK (vwo-fme-python-sdk, pinned in requirements.txt) as an oracle for
# flag decisions: the same input and output as flags.js. For each settings file, `init()` it
# offline and call `get_flag` for each case, one at a time. The SDK has no settings option: its
# network client is replaced before `init`, answering the settings fetch with the group's
# settings and every other request with 200 `{}`, so nothing leaves the process.
#
#   python flags.py <input.json>
#
# input.json: {"groups": [{"settings": {..}, "storage": bool, "cases": [{"featureKey": "..", "context": {..}}]}]}
# The contexts are in the Node SDK's shape (camelCase) and are renamed to the Python SDK's.
# Prints {"flags": [[decision, ..], ..]}, a decision being {enabled, variables, rolloutKey,
# rolloutVariationId, experimentKey, experimentVariationId, holdouts}: `holdouts` the ids of the
# holdouts the integrations callback says hold the user out, else null.
import json
import os
import sys

from wingify.packages.network_layer.client.network_client import NetworkClient

from sdk import ok, python_context

current = {"settings": None}


NetworkClient.get = lambda self, request: ok(current["settings"])
NetworkClient.post = lambda self, request: ok({})

from vwo import StorageConnector, init  # noqa: E402  (after the network client is replaced)

class Memory(StorageConnector):
    """Keeps every field it is given, per feature and user (or nothing, for a group without storage)."""

    def __init__(self, keep):
        self.keep = keep
        self.stored = {}

    def get(self, feature_key, user_id):
        return self.stored.get((feature_key, user_id))

    def set(self, data):
        if self.keep:
            fields = {k: v for k, v in data.items() if k not in ("featureKey", "userId")}
            self.stored[(data["featureKey"], data["userId"])] = fields


def main():
    # The SDK's logger prints to standard output: the answer goes to the real one, and
    # everything else to standard error.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    with open(sys.argv[1], encoding="utf-8") as file:
        request = json.load(file)
    decision = {}
    flags = []
    for group in request["groups"]:
        settings = dict(group["settings"], sdkMetaInfo={"wasInitializedEarlier": True})
        current["settings"] = settings
        vwo = init(
            {
                "sdk_key": "oracle-sdk-key",
                "account_id": str(settings.get("accountId")),
                "threading": {"enabled": False},
                "logger": {"level": "ERROR"},
                "storage": Memory(group.get("storage", False)),
                "integrations": {"callback": lambda properties: decision.update(properties)},
                "is_usage_stats_disabled": True,
            }
        )
        results = []
        for case in group["cases"]:
            decision.clear()
            flag = vwo.get_flag(case["featureKey"], python_context(case["context"]))
            results.append(
                {
                    "enabled": flag.is_enabled(),
                    "variables": flag.get_variables(),
                    "rolloutKey": decision.get("rolloutKey"),
                    "rolloutVariationId": decision.get("rolloutVariationId"),
                    "experimentKey": decision.get("experimentKey"),
                    "experimentVariationId": decision.get("experimentVariationId"),
                    "holdouts": decision.get("holdoutIDs") if decision.get("isPartOfHoldout") else None,
                }
            )
        flags.append(results)
    answer.write(json.dumps({"flags": flags}))
    answer.flush()
    # The SDK leaves a polling timer running.
    os._exit(0)


main()
