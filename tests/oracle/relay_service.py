# A service using the official Python SDK through the relay (crates/vwo-webhook-relay/tests/sdks.rs),
# as relay_service.js does with the Node SDK: `init()` with `gateway_service` pointed at the
# relay, a webhook handler that calls `update_settings()`, and the SDK's calls on command.
#
#   python relay_service.py <gateway URL> <account id> <SDK key> <webhook port> <webhook key>
#
# The same commands and answers as relay_service.js. With RELAY_SERVICE_NO_RETRIES=1 the SDK
# asks once instead of retrying at 2, 4 and 8 s (for a test that expects refusals).
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vwo import init
from wingify.constants.Constants import Constants


def main():
    gateway, account_id, sdk_key, port, hook_key = sys.argv[1:6]
    # The SDK's logger prints to standard output: answers go to the real one.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def out(value):
        answer.write(json.dumps(value) + "\n")
        answer.flush()

    if os.environ.get("RELAY_SERVICE_NO_RETRIES") == "1":
        Constants.MAX_RETRIES = 0
    vwo = init({
        "account_id": account_id,
        "sdk_key": sdk_key,
        "gateway_service": {"url": gateway},
        "threading": {"enabled": False},
        "logger": {"level": "ERROR"},
        "is_usage_stats_disabled": True,
    })
    updates = {"count": 0}

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.headers.get("x-vwo-auth") != hook_key:
                self.send_response(401)
                self.end_headers()
                return
            vwo.update_settings()
            updates["count"] += 1
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out({"ready": True})
    for line in sys.stdin:
        command = json.loads(line)
        context = {"id": command["user"]}
        if command.get("ua"):
            context["user_agent"] = command["ua"]
        if command.get("ip"):
            context["ip_address"] = command["ip"]
        if command["op"] == "getFlag":
            flag = vwo.get_flag(command["feature"], context)
            out({"enabled": flag.is_enabled(), "int": flag.get_variable("int", None), "updates": updates["count"]})
        elif command["op"] == "trackEvent":
            vwo.track_event(command["event"], context, command.get("properties") or {})
            out({"ok": True})
        elif command["op"] == "setAttribute":
            vwo.set_attribute(command["attributes"], context)
            out({"ok": True})
    server.shutdown()


if __name__ == "__main__":
    main()
