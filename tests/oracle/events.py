# The official Python SDK (vwo-fme-python-sdk, pinned in requirements.txt) as an oracle for
# what it sends to VWO: the same input and output as events.js. For each settings file,
# `init()` it offline (its network client replaced before `init`, as in flags.py), run the
# group's calls (`get_flag`, `track_event`, `set_attribute`) one at a time, and capture every
# request the client is given, as the SDK would put it on the wire.
#
#   python events.py <input.json>
#
# input.json: {"groups": [{"settings": {..}, "batch": bool, "calls": [
#   {"call": "getFlag", "featureKey": "..", "context": {..}} |
#   {"call": "trackEvent", "eventName": "..", "context": {..}, "properties": {..}} |
#   {"call": "setAttribute", "attributes": {..}, "context": {..}}]}]}
# The contexts are in the Node SDK's shape (camelCase) and are renamed to the Python SDK's.
# Prints {"groups": [[[request, ..], ..], ..]}, a request being {path, headers, body}: without
# batching, the requests each call made, in order; with it, one list of the batches
# `flush_events()` sent. Only events are kept: the SDK's own log and debugger events are not.
import json
import os
import sys
from urllib.parse import urlsplit

from wingify.packages.network_layer.client.network_client import NetworkClient

from sdk import ok, python_context

current = {"settings": None}
sent = []
INTERNAL = {"vwo_log", "vwo_sdkDebug", "vwo_debuggerEvent", "vwo_sdkInitCalled", "vwo_sdkUsageStats"}


def _name(event):
    return ((event or {}).get("d") or {}).get("event", {}).get("name")


def _post(self, request):
    options = request.get_options()
    url = urlsplit(options["url"])
    path = url.path + ("?" + url.query if url.query else "")
    body = json.loads(json.dumps(options.get("json")))
    if isinstance(body, dict) and isinstance(body.get("ev"), list):
        body["ev"] = [e for e in body["ev"] if _name(e) not in INTERNAL]
        if not body["ev"]:
            return ok({})
    elif _name(body) in INTERNAL:
        return ok({})
    headers = {str(k).lower(): str(v) for k, v in (options.get("headers") or {}).items()}
    sent.append({"path": path, "headers": headers, "body": body})
    return ok({})


NetworkClient.get = lambda self, request: ok(current["settings"])
NetworkClient.post = _post

from vwo import init  # noqa: E402  (after the network client is replaced)


def main():
    # The SDK's logger prints to standard output: the answer goes to the real one, and
    # everything else to standard error.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    with open(sys.argv[1], encoding="utf-8") as file:
        request = json.load(file)
    groups = []
    for group in request["groups"]:
        settings = dict(group["settings"], sdkMetaInfo={"wasInitializedEarlier": True})
        current["settings"] = settings
        options = {
            "sdk_key": "oracle-sdk-key",
            "account_id": str(settings.get("accountId")),
            "threading": {"enabled": False},
            "logger": {"level": "ERROR"},
            "is_usage_stats_disabled": True,
        }
        if group["batch"]:
            options["batch_event_data"] = {"events_per_request": 5000, "request_time_interval": 100000}
        vwo = init(options)
        sent.clear()
        requests = []
        for call in group["calls"]:
            context = python_context(call["context"])
            try:
                if call["call"] == "getFlag":
                    vwo.get_flag(call["featureKey"], context)
                elif call["call"] == "trackEvent":
                    vwo.track_event(call["eventName"], context, call["properties"])
                else:
                    vwo.set_attribute(call["attributes"], context)
            except Exception as error:  # the SDK answers its errors; this is a bug of the oracle's
                print(f"oracle: {call['call']} raised {error!r}", file=sys.stderr)
            if not group["batch"]:
                requests.append(list(sent))
                sent.clear()
        if group["batch"]:
            vwo.flush_events()
            requests.append(list(sent))
            sent.clear()
        groups.append(requests)
    answer.write(json.dumps({"groups": groups}))
    answer.flush()
    # The SDK leaves a polling timer running.
    os._exit(0)


main()
