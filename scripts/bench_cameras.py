#!/usr/bin/env python3
"""Camera benchmark: N loopback RTSP cameras analysed by a release VisionFlow.

    scripts/bench-cameras.sh [--counts 1,2,4,8] [--seconds 60] [--width 1280 --height 720 --fps 25]
    scripts/bench-cameras.sh --plates --counts 1 --width 640 --height 480 --fps 10

With `--plates` the cameras are plate cameras (`model_name` `alpr`) watching a gate: the
`zoom` mount of rear_car.png (a car approaching for 8 s, then 7 s of empty lane, looped),
and the table adds the server's CPU milliseconds per analysed frame (vehicles model + plate
OCR on each readable vehicle) and the final plate reads stored (one per passing car).

For each N: N cameras on one GStreamer RTSP server (scripts/rtsp_server.py, one shared
`moving` mount: a window panning across bus.jpg, so people keep entering the frame), each
with a whole-frame zone for `person` and `alert_duration` 0, analysed at
`cameras.detect_fps` (5). After a 10 s warm-up it measures for `--seconds`: analysed fps
per camera, frames skipped (analysis ticks that found the previous frame still in the
models), grab→result and grab→alert latency p50/p99 (the server's own windows), the server
process's CPU % (of one core; 200 % = both cores of this machine) and peak RSS. The RTSP
server's CPU is reported separately.

Needs: target/release/visionflow, the models in data/models (`visionflow models fetch`),
data/samples/bus.jpg, /usr/bin/python3 with GStreamer (see scripts/test.sh).
Only 127.0.0.1 is contacted; every process started is stopped at the end.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def gql(base, token, query, variables=None):
    out = http(base, "POST", "/graphql", {"query": query, "variables": variables or {}}, token)
    if out.get("errors"):
        raise RuntimeError(out["errors"])
    return out["data"]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


STATS = "{ cameras(first: 100) { edges { node { id status stats { framesAnalysed framesSkipped framesGrabbed latencyP50Ms latencyP99Ms alertLatencyP50Ms alertLatencyP99Ms } } } } }"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--detect-fps", type=float, default=5)
    ap.add_argument("--plates", action="store_true", help="plate cameras at a gate (model_name alpr)")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    models = os.environ.get("VF_MODELS_DIR", os.path.join(ROOT, "data/models"))
    samples = os.environ.get("VF_SAMPLES_DIR", os.path.join(ROOT, "data/samples"))
    image = os.path.join(samples, "rear_car.png" if args.plates else "bus.jpg")
    mount = (["--zoom-secs", "8", "--zoom-gap-secs", "7", "--zoom-center", "0.66,0.6", "--mount", f"pan=zoom:{image}"]
             if args.plates else ["--mount", f"pan=moving:{image}"])
    procs = []
    try:
        rtsp = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "scripts/rtsp_server.py"), "--port", "0",
             "--width", str(args.width), "--height", str(args.height), "--fps", str(args.fps)] + mount,
            stdout=subprocess.PIPE, text=True)
        procs.append(rtsp)
        rtsp_port = int(rtsp.stdout.readline().split()[1])
        port = free_port()
        data = tempfile.mkdtemp(prefix="vf-bench-")
        env = dict(os.environ, VISIONFLOW_MODELS__DIR=models, VISIONFLOW_CAMERAS__DETECT_FPS=str(args.detect_fps),
                   VISIONFLOW_LOG__LEVEL="warn",
                   OPENCV_FFMPEG_CAPTURE_OPTIONS=os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|analyzeduration;200000|probesize;65536"))
        server = subprocess.Popen([os.path.join(ROOT, "target/release/visionflow"), "serve", "--listen", f"127.0.0.1:{port}",
                                   "--data-dir", data], env=env, stderr=subprocess.DEVNULL)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                http(base, "GET", "/healthz")
                break
            except Exception:
                time.sleep(0.1)
        http(base, "POST", "/register", {"username": "bench", "email": "bench@example.com", "password": "bench-password-123"})
        token = http(base, "POST", "/login", {"username": "bench", "password": "bench-password-123"})["access_token"]
        url = f"rtsp://127.0.0.1:{rtsp_port}/pan"
        w, h = args.width - 1, args.height - 1
        rows = []
        for n in counts:
            ids = []
            for i in range(n):
                body = {"name": f"bench {i}", "stream_url": url, "recognition": True}
                if args.plates:
                    body.update(model_name="alpr", location="Gate 1")
                else:
                    body["detection_areas"] = [{"name": "all", "coordinates": [[0, 0], [w, 0], [w, h], [0, h]],
                                                "alert_duration": 0, "detection_classes": ["person"]}]
                r = http(base, "POST", "/cameras", body, token)
                ids.append(r["data"]["id"])
            time.sleep(args.warmup)
            def snap():
                return {e["node"]["id"]: e["node"] for e in gql(base, token, STATS)["cameras"]["edges"]}
            s0, c0, r0, t0 = snap(), cpu_ticks(server.pid), cpu_ticks(rtsp.pid), time.time()
            peak = rss_mib(server.pid)
            while time.time() - t0 < args.seconds:
                time.sleep(1)
                peak = max(peak, rss_mib(server.pid))
            s1, c1, r1, t1 = snap(), cpu_ticks(server.pid), cpu_ticks(rtsp.pid), time.time()
            dt = t1 - t0
            fps = [(s1[i]["stats"]["framesAnalysed"] - s0[i]["stats"]["framesAnalysed"]) / dt for i in ids]
            skipped = sum(s1[i]["stats"]["framesSkipped"] - s0[i]["stats"]["framesSkipped"] for i in ids)
            grabbed = [(s1[i]["stats"]["framesGrabbed"] - s0[i]["stats"]["framesGrabbed"]) / dt for i in ids]
            def worst(key):
                vals = [s1[i]["stats"][key] for i in ids if s1[i]["stats"][key] is not None]
                return max(vals) if vals else None
            notes = gql(base, token, "{ notifications(first: 1) { totalCount } }")["notifications"]["totalCount"]
            frames = sum(s1[i]["stats"]["framesAnalysed"] - s0[i]["stats"]["framesAnalysed"] for i in ids)
            cpu_ms_frame = 1000 * (c1 - c0) / TICK / frames if frames else None
            reads = sum(gql(base, token, "query($c: Int!) { plateReads(cameraId: $c, first: 1) { totalCount } }", {"c": i})
                        ["plateReads"]["totalCount"] for i in ids) if args.plates else None
            rows.append((n, sum(fps) / n, min(fps), sum(grabbed) / n, skipped, worst("latencyP50Ms"), worst("latencyP99Ms"),
                         worst("alertLatencyP50Ms"), worst("alertLatencyP99Ms"), 100 * (c1 - c0) / TICK / dt,
                         100 * (r1 - r0) / TICK / dt, peak, notes, cpu_ms_frame, reads))
            for i in ids:
                http(base, "DELETE", f"/cameras/{i}", None, token)
            time.sleep(2)
        def f(v, spec):
            return "-" if v is None else format(v, spec)
        kind = "plate cameras, one shared zoom mount of rear_car.png" if args.plates else "one shared moving mount"
        print(f"cameras: {args.width}x{args.height} @ {args.fps} fps RTSP ({kind}), analysis at {args.detect_fps} fps, "
              f"{args.seconds:.0f} s per row after {args.warmup:.0f} s warm-up, {os.cpu_count()} cores")
        print("  N  analysed fps/cam (min)  capture fps/cam  skipped  result p50/p99 ms  alert p50/p99 ms  server CPU %  RTSP CPU %  peak RSS MiB  alerts  CPU ms/frame  plate reads")
        for r in rows:
            print(f"{r[0]:>3}  {r[1]:>8.2f} ({r[2]:.2f})  {r[3]:>15.1f}  {r[4]:>7}  {f(r[5], '.0f'):>7}/{f(r[6], '.0f'):<9}  "
                  f"{f(r[7], '.0f'):>7}/{f(r[8], '.0f'):<8}  {r[9]:>12.0f}  {r[10]:>10.0f}  {r[11]:>12.0f}  {r[12]:>6}  "
                  f"{f(r[13], '.0f'):>12}  {f(r[14], 'd'):>11}")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    sys.exit(main())
