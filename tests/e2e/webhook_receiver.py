#!/usr/bin/env python3
"""A local Alertmanager webhook receiver for the end-to-end test.

  webhook_receiver.py PORT OUTPUT.jsonl

Listens on 127.0.0.1:PORT; every POST is appended to OUTPUT.jsonl as one line
{"path": request path, "received_at": unix seconds, "body": the webhook JSON}, so the test can
see which receiver (path) got which alerts. Answers 200 to every valid JSON POST, 400 otherwise.
"""
import http.server
import json
import sys
import time


class Receiver(http.server.BaseHTTPRequestHandler):
    output_path = ""

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self.send_response(400)
            self.end_headers()
            return
        with open(self.output_path, "a", encoding="utf-8") as output:
            output.write(json.dumps({"path": self.path, "received_at": time.time(), "body": body}) + "\n")
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        # Readiness probe for the test script.
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *arguments):
        pass  # the test reads OUTPUT.jsonl; request logs would only clutter its output


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: webhook_receiver.py PORT OUTPUT.jsonl")
    Receiver.output_path = sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver)
    server.serve_forever()


if __name__ == "__main__":
    main()
