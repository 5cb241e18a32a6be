#!/usr/bin/python3
"""Loopback RTSP server for VisionFlow integration tests and benchmarks.

Serves still images as live H.264 camera streams with Debian's GStreamer RTSP server
(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,ugly}); run it with
/usr/bin/python3 (another python3 on PATH may lack `gi`):

    /usr/bin/python3 scripts/rtsp_server.py --port 0 --width 640 --height 480 --fps 25 \\
        [--user U --password P] --mount people=still:data/samples/bus.jpg \\
        --mount pan=moving:data/samples/bus.jpg [--mount ...]

Binds 127.0.0.1 only; --port 0 picks a free port. Once it listens it prints exactly one line,
`READY <port>`, to stdout (flushed); the streams are then rtsp://127.0.0.1:<port>/<NAME>.
It runs until SIGTERM or SIGINT and then exits 0. An unknown path answers 404. With
--user/--password every mount needs Basic auth (no credentials or wrong ones: 401).

Modes (IMAGE is a JPEG or PNG):
  still   the image letterboxed (aspect kept, black bars) to WIDTHxHEIGHT, repeated live.
  moving  a WIDTH:HEIGHT window (3/4 of the image's width, or its full height if that is
          smaller) slides horizontally across the image and back (ping-pong, WIDTH/160 output
          pixels a frame, vertically centred), so consecutive frames differ.
  zoom    a window zooming in over --zoom-secs (default 4) from the whole image (at the output
          aspect) to 40 % of it around --zoom-center X,Y (fractions of the image, default
          0.5,0.5), then starting again: a vehicle approaching the camera. With
          --zoom-gap-secs G, G seconds of black frames follow each pass (the vehicle has
          passed and the lane is empty), so a tracker sees each pass as a new vehicle.
          The window is cut from the image scaled 2.5x and scaled back to WIDTHxHEIGHT, so the
          close frames keep their detail.
The image is decoded and scaled once; per frame only a crop (moving, zoom) and the encoder run.
Both are live (imagefreeze is-live=true, timestamps from the pipeline clock): a client gets a
steady FPS. Encoding: x264enc tune=zerolatency speed-preset=ultrafast key-int-max=FPS
threads=1 bitrate=--bitrate (default 1000 kbps up to 640x480, else 2000), rtph264pay pt=96
config-interval=1. Each mount is shared: all its clients share one pipeline and encoder,
which is built on the first client and torn down after the last one leaves.

Caveats: first frame ~0.1-0.2 s after PLAY (the first client of a mount builds its pipeline;
the image is decoded then). A client joining a running shared stream gets a clean picture only
from the next keyframe (up to 1 s; SPS/PPS are repeated every keyframe). Stills: H.264
refines a static picture, so decoded frames are not bit-identical. Benign GStreamer WARNs at
pipeline setup (GST_DEBUG=2) are expected.

Measured server CPU (utime+stime from /proc; 2-core Debian bookworm box with a parallel cargo
build running; one depayloading client per mount; % of ONE core, i.e. of half the box):
  640x480 25 fps:   still ~7 %/stream,  moving ~10 %/stream (8 mounts: 53 % still, 58 % moving)
  1280x720 25 fps:  still ~13-15 %/stream, moving ~18-20 %/stream (8 mounts: ~100 % still,
                    ~130-140 % moving; 23.6-24.4 fps per stream while cargo took the other core)
Nearly all of it is x264 (threads=1: one thread per stream is cheaper on 2 cores). Live
encoding costs ~1.8x the same frames encoded offline (cold caches every 40 ms).
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import GLib, Gst, GstPbutils, GstRtspServer  # noqa: E402

ENC = ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} bitrate={kbps} threads=1 "
       "! rtph264pay name=pay0 pt=96 config-interval=1")


def even(x):
    return max(2, int(round(x / 2.0)) * 2)


def image_size(path):
    """(width, height) of an image file, via GStreamer's discoverer."""
    info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(Gst.filename_to_uri(path))
    streams = info.get_video_streams()
    if not streams:
        raise ValueError("%s: not an image GStreamer can decode" % path)
    return streams[0].get_width(), streams[0].get_height()


def decoder(path):
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xff\xd8"):
        return "jpegdec"
    if magic.startswith(b"\x89PNG"):
        return "pngdec"
    raise ValueError("%s: neither JPEG nor PNG" % path)


def source(path, w, h, borders):
    """Launch fragment: IMAGE decoded once, scaled to w x h (I420), frozen into a live stream."""
    loc = GLib.strescape(path)
    return ('filesrc location="%s" blocksize=%d ! %s ! videoconvert ! videoscale add-borders=%s '
            '! video/x-raw,format=I420,width=%d,height=%d,pixel-aspect-ratio=1/1 '
            '! imagefreeze is-live=true' % (loc, os.path.getsize(path), decoder(path),
                                             "true" if borders else "false", w, h))


class Moving:
    """Geometry and per-frame crop update of a `moving` mount."""

    def __init__(self, path, width, height):
        self.path = path
        iw, ih = image_size(path)
        aspect = width / float(height)
        win_w = min(ih * aspect, 0.75 * iw)   # window in image pixels, output aspect
        scale = width / win_w
        self.sw = max(width, even(iw * scale))   # image scaled so the window is width x height
        self.sh = max(height, even(ih * scale))
        self.span = self.sw - width                # left offset runs 0..span and back
        self.vcut = self.sh - height
        self.step = even(width / 160.0)

    def launch(self, args):
        top = (self.vcut // 2) & ~1
        return ("( %s ! video/x-raw,framerate=%d/1 ! videocrop name=crop left=0 right=%d top=%d "
                "bottom=%d ! %s )" % (source(self.path, self.sw, self.sh, False), args.fps,
                                      self.span, top, self.vcut - top,
                                      ENC.format(fps=args.fps, kbps=args.bitrate)))

    def attach(self, crop):
        state = {"n": 0}
        period = max(1, 2 * (self.span // self.step))

        def probe(_pad, _info):
            # Runs in the streaming thread, before videocrop sees the buffer: both sides
            # change together, so the output size never changes.
            k = state["n"] % period
            state["n"] += 1
            steps = k if k <= period // 2 else period - k
            left = min(self.span, steps * self.step) & ~1
            crop.set_property("left", left)
            crop.set_property("right", self.span - left)
            return Gst.PadProbeReturn.OK

        crop.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)


class Zoom:
    """Geometry and per-frame crop update of a `zoom` mount."""

    END = 0.4   # the last window is this fraction of the first

    def __init__(self, path, width, height, secs, fps, center=(0.5, 0.5), gap=0.0):
        iw, ih = image_size(path)
        aspect = width / float(height)
        win_w = min(iw, ih * aspect)            # the first window, image pixels
        scale = 2.5 * width / win_w              # the image scaled so the first window is 2.5x out
        self.sw, self.sh = even(iw * scale), even(ih * scale)
        self.w0 = min(self.sw, even(2.5 * width))
        self.h0 = min(self.sh, even(2.5 * height))
        self.path = path
        self.width, self.height = width, height
        self.period = max(2, int(secs * fps))
        self.gap = max(0, int(gap * fps))
        self.center = center

    def window(self, k):
        t = (k % self.period) / float(self.period - 1)
        s = 1.0 - (1.0 - self.END) * t
        w, h = even(self.w0 * s), even(self.h0 * s)
        cx = self.sw * (0.5 + (self.center[0] - 0.5) * t)
        cy = self.sh * (0.5 + (self.center[1] - 0.5) * t)
        left = even(min(max(0.0, cx - w / 2.0), self.sw - w))
        top = even(min(max(0.0, cy - h / 2.0), self.sh - h))
        left, top = min(left, self.sw - w), min(top, self.sh - h)   # even() may round past the edge
        return left, top, max(0, self.sw - w - left), max(0, self.sh - h - top)

    def launch(self, args):
        l, t, r, b = self.window(0)
        return ("( %s ! video/x-raw,framerate=%d/1 ! videocrop name=crop left=%d right=%d top=%d "
                "bottom=%d ! videoscale ! video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1 "
                "! videobalance name=lane ! %s )"
                % (source(self.path, self.sw, self.sh, False), args.fps, l, r, t, b,
                   self.width, self.height, ENC.format(fps=args.fps, kbps=args.bitrate)))

    def attach(self, crop, lane):
        state = {"n": 0}

        def probe(_pad, _info):
            k = state["n"] % (self.period + self.gap)
            state["n"] += 1
            empty = k >= self.period
            # The gap: videobalance turns the frame black (no contrast, lowest brightness).
            lane.set_property("contrast", 0.0 if empty else 1.0)
            lane.set_property("brightness", -1.0 if empty else 0.0)
            l, t, r, b = self.window(min(k, self.period - 1))
            for key, v in (("left", l), ("top", t), ("right", r), ("bottom", b)):
                crop.set_property(key, v)
            return Gst.PadProbeReturn.OK

        crop.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)


def make_factory(name, mode, path, args, medias):
    factory = GstRtspServer.RTSPMediaFactory()
    if mode == "still":
        launch = "( %s ! video/x-raw,framerate=%d/1 ! %s )" % (
            source(path, args.width, args.height, True), args.fps,
            ENC.format(fps=args.fps, kbps=args.bitrate))
        moving = None
    elif mode == "moving":
        moving = Moving(path, args.width, args.height)
        launch = moving.launch(args)
    elif mode == "zoom":
        cx, _, cy = args.zoom_center.partition(",")
        moving = Zoom(path, args.width, args.height, args.zoom_secs, args.fps, (float(cx), float(cy)),
                      args.zoom_gap_secs)
        launch = moving.launch(args)
    else:
        raise ValueError("mount %s: unknown mode %r (still|moving|zoom)" % (name, mode))
    factory.set_launch(launch)
    factory.set_shared(True)
    if args.user is not None:
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))

    def configure(_factory, media):
        medias.append(media)
        if isinstance(moving, Zoom):
            el = media.get_element()
            moving.attach(el.get_by_name("crop"), el.get_by_name("lane"))
        elif moving is not None:
            moving.attach(media.get_element().get_by_name("crop"))

    factory.connect("media-configure", configure)
    return factory


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8554, help="TCP port; 0 picks a free one")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--bitrate", type=int, help="H.264 kbps (default 1000 up to 640x480, else 2000)")
    p.add_argument("--zoom-secs", type=float, default=4.0, help="length of one zoom pass (zoom mode)")
    p.add_argument("--zoom-gap-secs", type=float, default=0.0,
                   help="black frames after each zoom pass, seconds (zoom mode)")
    p.add_argument("--zoom-center", default="0.5,0.5", help="X,Y the zoom ends around, fractions of the image")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--mount", action="append", required=True, metavar="NAME=MODE:IMAGE")
    args = p.parse_args()
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    if args.width % 2 or args.height % 2 or args.width <= 0 or args.height <= 0 or args.fps <= 0:
        p.error("width and height must be positive and even, fps positive")
    if args.bitrate is None:
        args.bitrate = 1000 if args.width * args.height <= 640 * 480 else 2000

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)   # no default token: anonymous requests get 401

    medias = []
    mounts = server.get_mount_points()
    for spec in args.mount:
        name, sep, rest = spec.partition("=")
        mode, sep2, path = rest.partition(":")
        if not (sep and sep2 and name and path):
            p.error("bad --mount %r (want NAME=MODE:IMAGE)" % spec)
        if not os.path.isfile(path):
            p.error("--mount %s: no such file %s" % (name, path))
        try:
            factory = make_factory(name, mode, os.path.abspath(path), args, medias)
        except ValueError as e:
            p.error(str(e))
        mounts.add_factory("/" + name.strip("/"), factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("cannot listen on 127.0.0.1:%d" % args.port, file=sys.stderr)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda *_: loop.quit() or False)
    sys.stdout.write("READY %d\n" % server.get_bound_port())
    sys.stdout.flush()
    loop.run()
    for media in medias:   # stop pipelines that still run (clients still connected)
        media.unprepare()
    sys.stdout.flush()
    sys.stderr.flush()
    # Streaming threads may still hold Python callbacks: skip interpreter teardown.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
