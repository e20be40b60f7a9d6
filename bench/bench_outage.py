"""Benchmark: the console resending the audio of a long outage (default 20 minutes).

In headless Chromium against a real ``astra serve``: the page's outbox (static/js/outbox.js, with
IndexedDB through audiostore.js) is filled with N minutes of 100 ms PCM16 frames (silence, so
the server's recognizer stays idle) as if recorded offline, written to disk as they come; then a
SessionConnection (connection.js) connects and resends them. Measured: the time from connecting
to the last ack, the page's JS heap (``performance.memory`` with precise figures, after forced
GCs, then sampled every 50 ms), the audio bytes the outbox held in memory at most, how long a new
outbox takes to restore the backlog from disk (a reload), and the frames the server held back
for its frame rate (``astra_ws_throttled_frames_total``). Run it in a worktree of the code
before a change for the A/B: there the outbox's bound is raised to hold the whole backlog.

    .venv/bin/python bench/bench_outage.py --minutes 20 --port 18150
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server

CHROMIUM = "/usr/bin/chromium"

SCENARIO = """async ({ token, sessionId, frames }) => {
  const { Outbox } = await import('/static/js/outbox.js');
  const { AudioStore } = await import('/static/js/audiostore.js');
  const { SessionConnection } = await import('/static/js/connection.js');
  const heap = () => performance.memory.usedJSHeapSize;
  // A full GC, a second for the freed buffers' sweep to finish, another GC.
  const settle = async () => { gc(); await new Promise((ok) => setTimeout(ok, 1000)); gc(); };
  const quiet = { load: () => null, save: () => {} };
  const bound = { maxAudioBytes: (frames + 10) * 3200 };  // the old outbox's 5 minutes would drop
  const box = new Outbox(quiet, bound);
  await box.restoreAudio(await AudioStore.open(sessionId, 'bench'));
  for (let i = 0; i < frames; i++) {
    const data = new Uint8Array(3200);
    data[0] = i & 255; data[1] = (i >> 8) & 255;
    box.addAudio(data);
    if (i % 100 === 99) await box.writeAudio();  // on disk about as soon as recorded
  }
  await box.writeAudio();
  await settle();
  const outageHeap = heap();
  // A reload during the outage: a new outbox reads the backlog back from disk.
  let t = performance.now();
  let again = new Outbox(quiet, bound);
  await again.restoreAudio(await AudioStore.open(sessionId, 'bench'));
  const restoreSeconds = (performance.now() - t) / 1000;
  const restoredHeap = heap();
  const restoredAudio = again.audioBytes;
  again = null;
  await settle();
  const beforeHeap = heap();
  let peakHeap = beforeHeap;
  const sampler = setInterval(() => { peakHeap = Math.max(peakHeap, heap()); }, 50);
  const errors = [];
  t = performance.now();
  await new Promise((resolve) => {
    const conn = new SessionConnection({
      sessionId, clientId: 'bench', token, outbox: box, lastEventId: () => 0,
      on: {
        state() {}, welcome() {}, event() { return true; }, synced() {}, settled() {},
        presence() {}, status() {}, outbox() {}, closed() {},
        ack() { if (box.pending === 0) { conn.stop(); resolve(); } },
        error(msg) { errors.push(msg.code); },
      },
    });
    conn.start();
  });
  const seconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  return {
    frames, seconds, errors: errors.length, outageHeap, restoreSeconds, restoredHeap, restoredAudio,
    beforeHeap, peakHeap, peakOutboxAudio: box.peakMemoryBytes === undefined ? null : box.peakMemoryBytes,
  };
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    frames = round(args.minutes * 600)
    server = Server(port=args.port)
    try:
        session_id = server.session()
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--enable-precise-memory-info",
                    "--js-flags=--expose-gc",
                ],
            )
            page = browser.new_page()
            page.goto(f"{server.base}/static/index.html")
            started = time.monotonic()
            given = {"token": server.token, "sessionId": session_id, "frames": frames}
            result = page.evaluate(SCENARIO, given)
            result["wall_seconds"] = round(time.monotonic() - started, 1)
            browser.close()
        metrics = httpx.get(f"{server.base}/metrics").text
        found = re.search(r"^astra_ws_throttled_frames_total (\S+)$", metrics, re.MULTILINE)
        result["throttled_frames"] = float(found[1]) if found else None
        result["seconds"] = round(result["seconds"], 1)
        result["restoreSeconds"] = round(result["restoreSeconds"], 2)
        mb = 1024 * 1024
        sizes = ("outageHeap", "restoredHeap", "beforeHeap", "peakHeap", "restoredAudio", "peakOutboxAudio")
        for key in sizes:
            if result.get(key) is not None:
                result[key] = round(result[key] / mb, 1)
        print(json.dumps(result, indent=2))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
