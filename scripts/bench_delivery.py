#!/usr/bin/env python3
"""Delivery under a burst: N alerts at once, each to one LINE target and one webhook.

Starts `visionflow serve` (release build) on a fresh data dir with a LINE Messaging API
stand-in and a webhook receiver in this process (both on 127.0.0.1, answering at once),
registers a user, adds a camera, a LINE token and a webhook endpoint, then posts N
notifications through `POST /notifications` (each stores the notification and its two
deliveries in one transaction) as fast as one client can, and measures:

- enqueue: the time to store the N notifications (client side, sequential requests);
- drain: from the first request until no delivery is pending (polled through GraphQL);
- the LINE and webhook messages received (must be N each, no duplicates);
- the server's peak RSS (VmHWM) and RSS at the end.

    python3 scripts/bench_delivery.py [--alerts 1000] [--binary target/release/visionflow]
"""
import argparse
import http.server
import json
import sys
import threading
import time

from vf_bench import call, login, server

seen = {"line": [], "hook": []}
lock = threading.Lock()


class Peer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v2/bot/info":
            return self.reply(200, {"userId": "Ubench", "displayName": "bench"})
        self.reply(404, {"message": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            if self.path.startswith("/v2/bot/message/"):
                seen["line"].append(self.headers.get("x-line-retry-key"))
            elif self.path == "/hook":
                seen["hook"].append(self.headers.get("webhook-id"))
        self.reply(200, {"sentMessages": [{"id": "1"}]})






def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=1000)
    p.add_argument("--binary", default="target/release/visionflow")
    a = p.parse_args()
    peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    peer_base = f"http://127.0.0.1:{peer.server_address[1]}"
    settings = {"VISIONFLOW_INFERENCE__ENABLED": "false", "VISIONFLOW_LINE__API_BASE": peer_base}
    try:
        with server(a.binary, settings) as (base, srv):
            tok = login(base)
            cam = call(base, "POST", "/cameras", {"name": "bench", "stream_url": "rtsp://127.0.0.1:9/none", "recognition": False}, tok)["data"]["id"]
            call(base, "POST", "/line_tokens", {"token": "benchToken0123456789", "name": "bench", "target_id": "Ubench"}, tok)
            q = 'mutation($u: String!) { createWebhookEndpoint(input: {url: $u, eventTypes: ["alerts"]}) { secret } }'
            call(base, "POST", "/graphql", {"query": q, "variables": {"u": peer_base + "/hook"}}, tok)
            before = rss(srv.pid)
            t0 = time.monotonic()
            for i in range(a.alerts):
                r = call(base, "POST", "/notifications", {"camera_id": cam, "message": f"burst {i}", "detection_type": "person", "confidence": 0.9}, tok)
                assert r["data"]["notification_sent"] is True, r
            t_enqueue = time.monotonic() - t0
            peak = rss(srv.pid)
            count = lambda status: call(base, "POST", "/graphql", {"query": f'{{ deliveries(status: "{status}", first: 0) {{ totalCount }} }}'}, tok)["data"]["deliveries"]["totalCount"]
            while count("pending"):
                time.sleep(0.05)
            t_drain = time.monotonic() - t0
            failed = count("failed")
            end = rss(srv.pid)
    finally:
        peer.shutdown()
    with lock:
        line, hook = list(seen["line"]), list(seen["hook"])
    print(f"alerts                 {a.alerts} (2 deliveries each: LINE push + webhook)")
    print(f"enqueue (1 client)     {t_enqueue:.2f} s = {a.alerts / t_enqueue:.0f} notifications/s")
    print(f"drain (from first req) {t_drain:.2f} s = {2 * a.alerts / t_drain:.0f} deliveries/s")
    print(f"LINE messages          {len(line)} ({len(set(line))} distinct retry keys)")
    print(f"webhooks               {len(hook)} ({len(set(hook))} distinct ids)")
    print(f"failed deliveries      {failed}")
    print(f"server RSS             before {before['VmRSS']:.0f} MiB, after enqueue {peak['VmRSS']:.0f} MiB, "
          f"end {end['VmRSS']:.0f} MiB, peak {end['VmHWM']:.0f} MiB")
    ok = len(line) == len(set(line)) == a.alerts and len(hook) == len(set(hook)) == a.alerts and failed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
