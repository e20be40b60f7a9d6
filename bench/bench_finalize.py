"""Benchmark: finalize of a 6-hour session (5,000 blocks, 20 images) versus bare python-docx.

    make bench-finalize   (or: .venv/bin/python bench/bench_finalize.py)

Runs a real ``astra serve`` (its own process, embedded Redis, ``ASTRA_ASR_WARMUP=0``) and, in
the same run on the same machine, the baselines. Prints a Markdown table.

* The session: 5,000 Spanish council utterances sent as pipelined WebSocket ``text`` frames
  (opening, roll calls, agenda, approvals, bills and proposals with nominal votes, debate
  interventions of 2-4 sentences, communications, "varios", closing, signatures), classified by
  the embedded CORE into every zone of the skeleton, plus 20 PNG photos (1000×700 px, 100-300
  KB) uploaded with ``POST …/upload-asset`` along the way.
* finalize: wall clock of ``POST …/finalize``. Memory of the server process *and its worker
  processes* (its children started by ``multiprocessing``: the finalize pool's workers and the
  resource tracker; not the embedded redis-server) while it runs: the sum of their VmRSS
  sampled every 20 ms from ``/proc/<pid>/status``, and the sum of their VmHWM (peak RSS, reset
  through ``/proc/<pid>/clear_refs`` just before finalize, so it is the peak *during* finalize;
  the sum of each process's own peak, an upper bound of the peak of the sum). The
  document is downloaded and checked: SHA-256 = ``integrity_hash``, python-docx opens it, 20
  inline shapes; the content hash and event chain head are recomputed here from
  ``GET …/blocks`` and ``GET …/events`` and must equal the server's.
* Baseline: the minimal work of any DOCX generator: the same skeleton opened with python-docx,
  the texts of the same 5,000 blocks added with ``add_paragraph`` and the same 20 images with
  ``add_picture``, saved to bytes. And ``build_docx`` alone on the same blocks (read back with
  ``GET …/blocks``), images, style map and templates, which splits the server's finalize time
  into BUILDER and the rest (Redis reads, hashing, event chain, storage, audit report, HTTP).
  Both run in a fresh subprocess of this script (``--worker``), median of 3 runs; their memory
  is the RSS increase of that subprocess during the first run (VmHWM after minus VmRSS before,
  the same measure as the server's), not tracemalloc (lxml's memory is invisible to it).
* Other sessions: while the big finalize runs, a client of a second session sends a ``text``
  frame every 50 ms; its send → ack latency (p50/p99) versus the same loop with nothing else
  running. A third session records: 100 ms frames of silent PCM16 at real time from before the
  finalize until after it, so the server's VAD child is up and scoring, and counted in the
  memory (its own peak shown apart), as on a server with live audio.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import platform
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgpack
import numpy as np
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, TENANT, Server, percentile

from server.services.guard import chain_head, content_hash

BLOCKS = 5_000
IMAGES = 20
WINDOW = 64  # frames in flight on the loading connection (the server's ingest window)
TICK = 0.05  # the other session's frame interval
IDLE_TICKS = 200
RSS_PERIOD = 0.02
RUNS = 3
TARGET_SECONDS = 2.0
TARGET_MB = 300.0
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# /proc memory of a process


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) * 1024
    return found


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0, own processes)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def worker_pids(pid: int) -> list[int]:
    """Children of ``pid`` started by multiprocessing (pool workers, resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            if ppid != pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except OSError:  # gone meanwhile
            continue
        if b"multiprocessing" in command:
            found.append(int(entry))
    return found


def group_status(pids: list[int]) -> dict[str, int]:
    """VmRSS and VmHWM summed over the processes still alive."""
    total = {"VmRSS": 0, "VmHWM": 0}
    for pid in pids:
        try:
            status = proc_status(pid)
        except OSError:
            continue
        for name in total:
            total[name] += status[name]
    return total


class RssSampler:
    """Samples the VmRSS of a server and its workers every ``RSS_PERIOD`` seconds in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pids = [pid, *worker_pids(pid)]
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            if n % 10 == 9:  # a worker started meanwhile (scanning /proc each time costs CPU)
                self.pids = [self.pid, *worker_pids(self.pid)]
            self.samples.append(group_status(self.pids)["VmRSS"])
            n += 1
            self._stop.wait(RSS_PERIOD)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.pids = [self.pid, *worker_pids(self.pid)]
        self.samples.append(group_status(self.pids)["VmRSS"])


# ---------------------------------------------------------------------------------------------
# The server


class Stream:
    """A protocol-v1 client: numbered ``text`` frames, acks timed by seq."""

    def __init__(self, server: Server, session_id: str, client_id: str) -> None:
        self.cm = connect(
            f"ws://127.0.0.1:{server.port}/v1/orchestrator/session/{session_id}/stream",
            subprotocols=["astra.v1"],  # type: ignore[list-item]
            max_size=None,
        )
        self.ws = self.cm.__enter__()
        self.ws.send(msgpack.packb({"type": "hello", "client_id": client_id, "token": server.token}))
        self.seq = 0
        self.sent: dict[int, float] = {}
        self.acked: dict[int, float] = {}
        self.errors: list[dict[str, Any]] = []
        self.welcomed = False
        while not self.welcomed:
            self.pump(10.0)

    def text(self, text: str) -> int:
        self.seq += 1
        self.sent[self.seq] = time.perf_counter()
        self.ws.send(msgpack.packb({"type": "text", "seq": self.seq, "text": text}))
        return self.seq

    def audio(self, pcm16: bytes) -> int:
        self.seq += 1
        self.sent[self.seq] = time.perf_counter()
        self.ws.send(msgpack.packb({"type": "audio", "seq": self.seq, "format": "pcm16", "data": pcm16}))
        return self.seq

    def pump(self, timeout: float) -> None:
        try:
            data = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return
        now = time.perf_counter()
        message = msgpack.unpackb(data)
        match message["type"]:
            case "ack":
                self.acked[message["seq"]] = now
            case "error":
                self.errors.append(message)
                raise RuntimeError(f"server refused a frame: {message}")
            case "welcome":
                self.welcomed = True

    def wait_acked(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < self.seq:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.seq - len(self.acked)} frames not acked")
            self.pump(1.0)

    def close(self) -> None:
        self.cm.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------
# What is said in a 6-hour plenary session

MEMBERS = (
    ("concejal", "Juan Carlos Ospina Gómez"),
    ("concejala", "Ana María Ruiz"),
    ("concejal", "Pedro Gómez Salazar"),
    ("concejal", "Luis Fernando Ramírez"),
    ("concejala", "Carolina Vélez Arango"),
    ("concejal", "John Jairo Mejía"),
    ("concejala", "María Isabel Caicedo"),
    ("concejal", "Diego Fernando Tello"),
    ("concejala", "Natalia Andrea Lozano"),
    ("concejal", "Roberto Carlos Urrea"),
    ("concejala", "Luz Marina Toro"),
    ("concejal", "Fabio Alonso Arroyave"),
    ("concejal", "Hernando Quiñónez"),
    ("concejala", "Alexandra Hernández"),
    ("concejal", "Harold Mosquera Valencia"),
    ("concejal", "Milton Fabián Castro"),
    ("concejala", "Leidy Johana Erazo"),
    ("concejal", "Carlos Hernán Rodríguez"),
    ("concejal", "Andrés Felipe Rojas"),
    ("concejala", "Tatiana Fernández Ocampo"),
    ("concejal", "Martín Eduardo Bravo"),
)
PARTIES = (
    "Partido Liberal",
    "Partido Conservador",
    "Partido Verde",
    "Pacto Histórico",
    "Centro Democrático",
    "Cambio Radical",
    "Partido de la U",
)
OFFICIALS = (
    ("la doctora", "Marcela Ortiz", "secretaria de Salud"),
    ("el doctor", "Hernán Quintero", "secretario de Movilidad"),
    ("el ingeniero", "Julián Cárdenas", "gerente de EMCALI"),
    ("la doctora", "Patricia Giraldo", "secretaria de Hacienda"),
    ("el doctor", "Andrés Zapata", "director del DAGMA"),
    ("la doctora", "Lorena Beltrán", "secretaria de Educación"),
)
SENTENCES = (
    "Gracias, señor presidente, un saludo a los compañeros de la plenaria y a quienes nos siguen.",
    "Quiero referirme a la situación del servicio de agua en la comuna veintiuno.",
    "Los habitantes del oriente de la ciudad llevan tres semanas con cortes de agua sin aviso.",
    "El sistema MIO sigue con frecuencias de más de cuarenta minutos en las rutas alimentadoras.",
    "Pedimos a la Secretaría de Movilidad un informe detallado sobre los semáforos dañados.",
    "La ejecución presupuestal del primer trimestre no supera el dieciocho por ciento.",
    "No es aceptable que los recursos de la sobretasa no se hayan invertido en malla vial.",
    "Los hospitales de la red pública reportan déficit de médicos especialistas.",
    "Solicito que la administración presente el cronograma de las obras del plan de desarrollo.",
    "La inseguridad en el centro de la ciudad afecta a los comerciantes formales.",
    "Hemos recibido quejas de la comunidad del barrio El Vallado por la recolección de basuras.",
    "Es necesario fortalecer el programa de alimentación escolar en las instituciones oficiales.",
    "La bancada acompaña la iniciativa, pero con observaciones sobre la fuente de financiación.",
    "Quiero dejar constancia de mi voto negativo por la falta de estudios técnicos.",
    "El concepto de la Secretaría de Hacienda sobre el impacto fiscal llegó incompleto.",
    "Los jóvenes de la ladera necesitan más oferta de educación superior y empleo.",
    "Señor presidente, solicito que se verifique el quórum antes de continuar.",
    "La contaminación del río Cauca exige una respuesta coordinada con la CVC.",
    "Reconozco el trabajo de los funcionarios que atendieron la emergencia invernal.",
    "El informe de la Personería evidencia retrasos en la atención de las víctimas.",
    "Propongo que la comisión de presupuesto haga seguimiento mensual a estos contratos.",
    "No podemos aprobar un empréstito sin conocer el plan de inversiones del año.",
    "Las ciclorrutas construidas no tienen mantenimiento y hoy son un riesgo para los usuarios.",
    "La ciudadanía espera que este Concejo ejerza un verdadero control político.",
    "En el sector rural los caminos veredales están en muy mal estado.",
    "Agradezco al gerente su presencia, aunque las respuestas al cuestionario fueron generales.",
    "Solicito que la respuesta de la administración quede por escrito en el acta.",
    "El alumbrado público de la comuna dieciocho lleva meses sin reparaciones.",
    "La política pública de seguridad alimentaria debe llegar a los barrios más vulnerables.",
    "Los vendedores informales del centro merecen una alternativa digna de reubicación.",
    "El programa de vivienda de interés social avanza mucho más lento de lo prometido.",
    "Pido a la mesa directiva que programe un debate específico sobre la movilidad.",
    "La tasa de homicidios bajó, pero los hurtos a personas aumentaron en el último semestre.",
    "Las instituciones educativas necesitan conectividad para que los estudiantes no se queden atrás.",
    "Es urgente la intervención del canal CVC Sur antes de la próxima temporada de lluvias.",
    "Hago un llamado a la administración para que escuche a las juntas de acción comunal.",
    "Muchas gracias, señor presidente, eso es todo por ahora.",
    "Dejo radicadas las preguntas por escrito para que sean respondidas en ocho días.",
    "La comisión accidental visitó las obras y encontró frentes de trabajo abandonados.",
    "Los recursos del Sistema General de Participaciones deben llegar a tiempo a los colegios.",
)
BILLS = (
    "por medio del cual se adopta la política pública de movilidad sostenible",
    "por medio del cual se autoriza un empréstito para la malla vial",
    "por medio del cual se modifica el estatuto tributario del distrito",
    "por medio del cual se crea el programa de alimentación escolar ampliado",
    "por medio del cual se adopta la política pública de juventud",
    "por medio del cual se establecen incentivos para el reciclaje",
)
PROPOSALS = (
    "citar al gerente de EMCALI para debate de control político sobre el servicio de agua",
    "solicitar a la Secretaría de Movilidad un informe sobre el estado del MIO",
    "invitar a la Personería Distrital a presentar el informe de gestión",
    "citar al director del DAGMA sobre la calidad del aire en la ciudad",
    "solicitar a la Secretaría de Salud el plan de contingencia hospitalaria",
)
SENDERS = (
    ("la Secretaría de Hacienda", "solicita prórroga del plazo para presentar el informe"),
    ("la Personería Distrital", "remite el informe de gestión del semestre"),
    ("la Contraloría General de Santiago de Cali", "informa el resultado de la auditoría"),
    ("el señor alcalde", "presenta excusa por su inasistencia a la sesión"),
    ("la Junta de Acción Comunal del barrio Siloé", "pide la intervención de la vía principal"),
)
WORDS = (
    *("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"),
    *("once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho"),
    *("diecinueve", "veinte", "veintiún"),
)


def floor(title: str, name: str, lead: str = "Tiene") -> str:
    """The president gives the floor: "Tiene la palabra la concejala …"."""
    return f"{lead} la palabra {'la' if title == 'concejala' else 'el'} {title} {name}"


class Script:
    """Deterministic, varied utterances covering every section of the acta."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.bill = 10
        self.filing = 100

    def speech(self) -> str:
        return " ".join(self.rng.sample(SENTENCES, self.rng.randint(2, 4)))

    def member(self) -> tuple[str, str]:
        return self.rng.choice(MEMBERS)

    def roll_call(self) -> list[str]:
        members = list(MEMBERS)
        self.rng.shuffle(members)
        excused = self.rng.randint(0, 2)
        absent = self.rng.randint(0, 2)
        present = [name for _, name in members[: len(members) - excused - absent]]
        said = f"Contestaron a lista los honorables concejales {', '.join(present[:-1])} y {present[-1]}"
        if excused:
            names = [name for _, name in members[len(present) : len(present) + excused]]
            said += f"; con excusa {' y '.join(names)}"
        kind = "decisorio" if len(present) >= 11 else "deliberatorio"
        return ["Señor secretario, sírvase llamar a lista.", f"{said}. Hay quórum {kind}."]

    def tally(self, subject: str) -> str:
        si = self.rng.randint(12, 19)
        no = self.rng.randint(0, 21 - si)
        if self.rng.random() < 0.5:
            return f"Votaron sí {WORDS[si]}, no {WORDS[no]}. Aprobado {subject}."
        return f"{si} votos a favor, {no} en contra y 1 abstención; aprobado {subject}."

    def nominal(self) -> str:
        votes = []
        for _, name in MEMBERS:
            roll = self.rng.random()
            votes.append(
                f"{name}: sí" if roll < 0.75 else f"{name}: no" if roll < 0.92 else f"{name} se abstiene"
            )
        return "; ".join(votes)

    def intervention(self, speakers: int) -> list[str]:
        out: list[str] = []
        for _ in range(speakers):
            if self.rng.random() < 0.15:
                article, name, office = self.rng.choice(OFFICIALS)
                out.append(f"Interviene {article} {name}, {office}.")
                out.append(self.speech())
                continue
            title, name = self.member()
            out.append(f"{floor(title, name)} del {self.rng.choice(PARTIES)}.")
            out.append(f"{title.capitalize()} {name}: {self.speech()}")
            out.extend(self.speech() for _ in range(self.rng.randint(0, 2)))
        return out

    def opening(self) -> list[str]:
        return [
            "Siendo las nueve y diez de la mañana del catorce de marzo de dos mil veintiséis se abre "
            "la sesión ordinaria número 045 del Concejo Distrital de Santiago de Cali, preside el "
            "concejal Juan Carlos Ospina Gómez, actúa como secretario el doctor Pedro Gómez Salazar.",
            *self.roll_call(),
            "Lectura del orden del día. Primero, llamado a lista y verificación del quórum. Segundo, "
            "aprobación del acta anterior. Tercero, proyectos de acuerdo. Cuarto, debate de control "
            "político a EMCALI. Quinto, proposiciones. Sexto, comunicaciones. Séptimo, varios.",
            "Se somete a consideración el orden del día leído, ¿lo aprueba la plenaria?",
            self.tally("el orden del día"),
            "Siguiente punto, aprobación del acta número 44 de la sesión anterior.",
            self.tally("el acta número 44"),
        ]

    def cycle(self) -> list[str]:
        """About an hour's worth: a quorum check, a bill, a debate, proposals, mail, varios."""
        self.bill += 1
        self.filing += 1
        number = f"{self.bill:03d}"
        sender, subject = self.rng.choice(SENDERS)
        author_a, author_b = self.rng.sample(MEMBERS, 2)
        out = [
            *self.roll_call(),
            f"Proyecto de acuerdo número {number} de 2026 {self.rng.choice(BILLS)}, en segundo debate.",
            "Se da lectura a la ponencia para segundo debate.",
        ]
        for _ in range(self.rng.randint(2, 4)):
            title, name = self.member()
            out.append(
                f"{floor(title, name)} para referirse al proyecto de acuerdo {number}. {self.speech()}"
            )
        out += [
            "Se abre la votación nominal del proyecto de acuerdo.",
            self.nominal(),
            self.tally(f"en segundo debate el proyecto de acuerdo {number}"),
            *self.intervention(self.rng.randint(8, 14)),
            f"Proposición presentada por los concejales {author_a[1]} y {author_b[1]}: "
            f"{self.rng.choice(PROPOSALS)}.",
            "Se abre la votación de la proposición.",
            self.nominal(),
            "Aprobada la proposición.",
            f"Se da lectura a la comunicación enviada por {sender}, en la que {subject}, con radicado "
            f"número 2026-{self.filing:05d}.",
            "Pasamos a asuntos varios.",
        ]
        title, name = self.member()
        out.append(f"{floor(title, name, 'En varios tiene')}.")
        out.append(f"{title.capitalize()} {name}: {self.speech()}")
        return out

    def closing(self) -> list[str]:
        return [
            "Agotado el orden del día, siendo las tres y cuarto de la tarde se levanta la sesión y se "
            "convoca para mañana a las nueve de la mañana.",
            "Firman el presidente Juan Carlos Ospina Gómez y el secretario general Pedro Gómez Salazar.",
        ]

    def session(self, count: int) -> list[str]:
        closing = self.closing()
        texts = self.opening()
        while len(texts) < count - len(closing):
            texts += self.cycle()
        return texts[: count - len(closing)] + closing


# ---------------------------------------------------------------------------------------------
# Images: PNGs made with numpy and zlib


def png(seed: int, width: int = 1000, height: int = 700) -> bytes:
    """A 1000×700 RGB PNG of 100-300 KB: a smooth background and a noisy "photo" area."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = 40 + x * 160 // width
    img[..., 1] = 60 + y * 120 // height
    img[..., 2] = (seed * 37) % 256
    target = (115 + (seed * 53) % 170) * 1024 - 64 * 1024  # what the noise adds, roughly
    rows = 300
    cols = min(width - 100, max(50, int(target / 2.3) // rows))
    area = img[200 : 200 + rows, 50 : 50 + cols]
    area[...] = area // 2 + rng.integers(0, 64, area.shape, dtype=np.uint8)
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------------------------
# Phases


def fill(server: Server, session_id: str, texts: list[str], images: list[bytes]) -> dict[str, bytes]:
    """Send the texts pipelined on one connection; upload an image every len/IMAGES texts."""
    stream = Stream(server, session_id, "bench-loader")
    every = len(texts) // len(images)
    assets: dict[str, bytes] = {}
    for i, text in enumerate(texts, start=1):
        while stream.seq - len(stream.acked) >= WINDOW:
            stream.pump(10.0)
        stream.text(text)
        if i % every == 0 and len(assets) < len(images):
            stream.wait_acked()  # the photo follows what was said before it
            n = len(assets)
            response = server.http.post(
                f"/{session_id}/upload-asset",
                files={"file": (f"foto_{n + 1:02d}.png", images[n], "image/png")},
                data={"caption": f"Fotografía {n + 1}: registro de la sesión plenaria"},
            )
            response.raise_for_status()
            assets[response.json()["asset_id"]] = images[n]
    stream.wait_acked()
    stream.close()
    return assets


def tick(stream: Stream, stop: threading.Event | None, count: int | None) -> list[tuple[float, float]]:
    """A frame every TICK seconds until ``stop`` is set (or ``count`` frames): (sent, latency)."""
    began = time.perf_counter()
    n = 0
    first = stream.seq + 1
    script = Script(seed=7)
    while (stop is None or not stop.is_set()) and (count is None or n < count):
        n += 1
        stream.text(script.speech())
        while (pause := began + n * TICK - time.perf_counter()) > 0:
            stream.pump(pause)
    stream.wait_acked()
    return [(stream.sent[s], stream.acked[s] - stream.sent[s]) for s in range(first, stream.seq + 1)]


def record(stream: Stream, stop: threading.Event) -> None:
    """100 ms frames of silent PCM16 at real time until ``stop``: the server's VAD child is up and
    scoring during the finalize, as on a server with live audio (silent, so the embedded CORE's
    recognizer is not loaded: a deployment's CORE is a service of its own)."""
    frame = bytes(3200)
    began = time.perf_counter()
    n = 0
    while not stop.is_set():
        n += 1
        stream.audio(frame)
        while (pause := began + n * 0.1 - time.perf_counter()) > 0:
            stream.pump(pause)
    stream.wait_acked()


def vad_child(server: Server, known: set[int], timeout: float = 60.0) -> int:
    """The process the server starts for voice-activity detection once audio arrives."""
    deadline = time.monotonic() + timeout
    while not (new := set(worker_pids(server.proc.pid)) - known):
        if time.monotonic() > deadline:
            raise TimeoutError("the server started no VAD child for the recorder's audio")
        time.sleep(0.1)
    return new.pop()


def finalize(server: Server, session_id: str, other: Stream, vad_pid: int) -> dict[str, Any]:
    pid = server.proc.pid
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    ticker = threading.Thread(target=lambda: samples.extend(tick(other, stop, None)), daemon=True)
    ticker.start()
    time.sleep(0.5)
    workers = worker_pids(pid)
    hwm_reset = all([reset_peak(p) for p in [pid, *workers]])
    before = group_status([pid, *workers])
    before_by = {p: group_status([p])["VmRSS"] for p in [pid, *workers]}
    with RssSampler(pid) as sampler:
        t0 = time.perf_counter()
        response = server.http.post(f"/{session_id}/finalize")
        t1 = time.perf_counter()
    server_hwm = proc_status(pid)["VmHWM"]
    hwm = group_status(sampler.pids)["VmHWM"]
    peaks = {p: group_status([p])["VmHWM"] for p in sampler.pids}
    time.sleep(0.5)
    stop.set()
    ticker.join()
    response.raise_for_status()
    sampled_peak = max(sampler.samples)
    peak = max(sampled_peak, hwm) if hwm_reset else sampled_peak
    return {
        "seconds": t1 - t0,
        "rss_before": before["VmRSS"],
        "rss_peak": peak,
        "server_peak": server_hwm if hwm_reset else None,
        "workers": len(sampler.pids) - 1,
        "by_process": [
            (
                "server" if p == pid else "VAD child" if p == vad_pid else f"worker {p}",
                before_by.get(p, 0),
                peak,
            )
            for p, peak in peaks.items()
        ],
        "vad_peak": peaks.get(vad_pid),
        "rss_sampled_peak": sampled_peak,
        "hwm": hwm if hwm_reset else None,
        "samples": len(sampler.samples),
        # frames in flight at any moment of the finalize
        "during": [latency for sent, latency in samples if sent <= t1 and sent + latency >= t0],
        "result": response.json(),
    }


def check_document(
    server: Server, session_id: str, result: dict[str, Any], blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Download and check the acta; recompute the content hash and the event chain here."""
    from docx import Document

    document = httpx.get(result["download_url"], timeout=60).content
    if hashlib.sha256(document).hexdigest() != result["integrity_hash"]:
        raise AssertionError("downloaded DOCX does not match integrity_hash")
    doc = Document(io.BytesIO(document))
    shapes = len(doc.inline_shapes)
    if shapes != IMAGES:
        raise AssertionError(f"{shapes} inline shapes in the acta, expected {IMAGES}")
    t0 = time.perf_counter()
    if content_hash(blocks) != result["content_hash"]:
        raise AssertionError("content_hash differs from the SHA-256 of the blocks read back")
    hashing = time.perf_counter() - t0
    events: list[dict[str, Any]] = []
    while True:
        page = server.http.get(
            f"/{session_id}/events", params={"after": events[-1]["id"] if events else 0, "limit": 5000}
        ).json()["events"]
        events.extend(page)
        if not page:  # a page may end early (its byte bound): the log ends at an empty one
            break
    closing = next(i for i, e in enumerate(events) if e["kind"] == "session.closing")
    t0 = time.perf_counter()
    if chain_head(events[: closing + 1]) != result["chain_head"]:
        raise AssertionError("chain_head differs from the chain over the event log read back")
    chaining = time.perf_counter() - t0
    body = doc.element.body
    return {
        "document": document,
        "bytes": len(document),
        "shapes": shapes,
        "paragraphs": len(body.xpath(".//w:p")),
        "tables": len(body.xpath(".//w:tbl")),
        "events": closing + 1,
        "hashing": hashing,
        "chaining": chaining,
    }


# ---------------------------------------------------------------------------------------------
# Baselines, each in a fresh subprocess (``--worker KIND INPUTS``)


def worker(kind: str, inputs_path: str) -> None:
    """Time ``kind`` RUNS times on the pickled inputs; RSS increase of the first run."""
    from docx import Document
    from docx.shared import Mm

    from server.services import docx_builder

    inputs = pickle.loads(Path(inputs_path).read_bytes())
    pictures = [inputs["images"][b["asset"]["asset_id"]] for b in inputs["blocks"] if b["type"] == "IMAGE"]
    texts = [b["text"] for b in inputs["blocks"] if b["type"] != "IMAGE"]

    def bare() -> bytes:
        doc = Document(io.BytesIO(inputs["skeleton"]))
        for text in texts:
            doc.add_paragraph(text)
        for data in pictures:
            doc.add_picture(io.BytesIO(data), width=Mm(150))
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()

    def builder() -> bytes:
        return docx_builder.build_docx(
            inputs["skeleton"],
            style_map=inputs["style_map"],
            blocks=inputs["blocks"],
            images=inputs["images"],
            metadata=inputs["metadata"],
            templates=inputs["templates"],
            mark_human_edits=inputs["mark_human_edits"],
            empty_zones=inputs["empty_zones"],
        )

    run = bare if kind == "bare" else builder
    # As in the server, the templates were compiled when the session started.
    docx_builder.check_templates(inputs["templates"])
    pid = os.getpid()
    reset_peak(pid)
    before = proc_status(pid)["VmRSS"]
    times = []
    for i in range(RUNS):
        t0 = time.perf_counter()
        output = run()
        times.append(time.perf_counter() - t0)
        if i == 0:
            peak = proc_status(pid)["VmHWM"]
            first = output
        del output
    Path(inputs_path).with_name(f"{kind}.docx").write_bytes(first)
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "times": times,
                "rss_before": before,
                "rss_peak": peak,
                "bytes": len(first),
            }
        )
    )


def same_parts(a: bytes, b: bytes) -> bool:
    """Same package parts with the same bytes (python-docx stamps the zip entries with the time)."""
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        if sorted(za.namelist()) != sorted(zb.namelist()):
            return False
        return all(za.read(name) == zb.read(name) for name in za.namelist())


def run_worker(kind: str, inputs_path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(inputs_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------------------------


def main() -> None:
    texts = Script().session(BLOCKS)
    images = [png(seed) for seed in range(IMAGES)]
    metadata = {"title": "Acta de la sesión ordinaria No. 045", "subject": "Sesión plenaria ordinaria"}
    server = Server()
    try:
        big = server.session(metadata)
        t0 = time.perf_counter()
        assets = fill(server, big, texts, images)
        fill_seconds = time.perf_counter() - t0
        blocks = server.http.get(f"/{big}/blocks").json()["blocks"]
        pinned = server.http.get(f"/{big}").json()["pinned"]

        other = Stream(server, server.session({"title": "Sesión de comisión"}), "bench-ticker")
        idle = [latency for _, latency in tick(other, None, IDLE_TICKS)]
        recorder = Stream(server, server.session({"title": "Sesión en grabación"}), "bench-recorder")
        known = set(worker_pids(server.proc.pid))
        recording = threading.Event()
        recorder_thread = threading.Thread(target=record, args=(recorder, recording), daemon=True)
        recorder_thread.start()
        fin = finalize(server, big, other, vad_child(server, known))
        recording.set()
        recorder_thread.join(timeout=60)
        recorder.close()
        other.close()
        check = check_document(server, big, fin["result"], blocks)
        # the finalize metric (server side, without HTTP) from /metrics
        metrics = httpx.get(f"{server.base}/metrics").text
    except BaseException:
        server.stop(keep=True)
        raise
    server.stop(keep=False)

    skeleton = (
        ROOT / "server/tenants_data" / TENANT / "skeletons" / f"{pinned['skeleton_id']}.docx"
    ).read_bytes()
    if hashlib.sha256(skeleton).hexdigest() != pinned["skeleton_sha256"]:
        raise AssertionError("the skeleton on disk is not the one the session pinned")
    live = [b for b in blocks if not b.get("deleted")]
    with tempfile.TemporaryDirectory() as tmp:
        inputs_path = Path(tmp) / "inputs.pickle"
        inputs_path.write_bytes(
            pickle.dumps(
                {
                    "skeleton": skeleton,
                    "style_map": pinned["style_map"],
                    "templates": pinned["templates"],
                    "mark_human_edits": pinned["mark_human_edits"],
                    "empty_zones": pinned.get("empty_zones") or {},
                    "metadata": metadata,
                    "blocks": live,
                    "images": assets,
                }
            )
        )
        bare = run_worker("bare", inputs_path)
        builder = run_worker("builder", inputs_path)
        builder["same_parts"] = same_parts(check["document"], (Path(tmp) / "builder.docx").read_bytes())

    report(
        texts=texts,
        images=images,
        blocks=live,
        fill_seconds=fill_seconds,
        fin=fin,
        check=check,
        bare=bare,
        builder=builder,
        idle=idle,
        metrics=metrics,
    )


def server_finalize_seconds(metrics: str) -> float | None:
    """``astra_finalize_seconds_sum{outcome="ok"}`` or similar, if the server exports it."""
    for line in metrics.splitlines():
        if line.startswith("astra_finalize_seconds_sum") and "ok" in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def report(
    *,
    texts: list[str],
    images: list[bytes],
    blocks: list[dict[str, Any]],
    fill_seconds: float,
    fin: dict[str, Any],
    check: dict[str, Any],
    bare: dict[str, Any],
    builder: dict[str, Any],
    idle: list[float],
    metrics: str,
) -> None:
    zones = Counter(b["target_placeholder"] for b in blocks)
    types = Counter(b["type"] for b in blocks)
    chars = sum(len(t) for t in texts)
    server_side = server_finalize_seconds(metrics)
    rest = fin["seconds"] - builder["seconds"]
    fin_mb = (fin["rss_peak"] - fin["rss_before"]) / MB
    bare_mb = (bare["rss_peak"] - bare["rss_before"]) / MB
    builder_mb = (builder["rss_peak"] - builder["rss_before"]) / MB
    during = fin["during"]

    def ok(good: bool) -> str:
        return "✅" if good else "❌"

    print(
        f"\n## Finalize benchmark — {platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        f"Session: {len(blocks)} blocks ({', '.join(f'{k} {v}' for k, v in sorted(types.items()))}) "
        f"from {len(texts)} utterances ({chars / 1e6:.2f} M characters) and {len(images)} PNGs "
        f"({min(map(len, images)) // 1024}-{max(map(len, images)) // 1024} KB, 1000×700), loaded in "
        f"{fill_seconds:.1f} s. Zones: {', '.join(f'{k} {v}' for k, v in zones.most_common())}.\n"
    )
    print(
        f"Acta: {check['bytes'] / MB:.1f} MB, {check['paragraphs']} paragraphs, {check['tables']} tables, "
        f"{check['shapes']} inline shapes; SHA-256 = integrity_hash ✔, content_hash and chain head over "
        f"{check['events']} events recomputed ✔; `build_docx` outside the server on the blocks read back "
        f"gives the same document parts: {'yes' if builder['same_parts'] else 'NO'}.\n"
    )
    print("| measure | ASTRA | baseline | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| finalize, `POST …/finalize` wall clock (s) | **{fin['seconds']:.2f}** "
        f"| {bare['seconds']:.2f} (bare python-docx) | {fin['seconds'] / bare['seconds']:.1f} "
        f"| < {TARGET_SECONDS:.0f} {ok(fin['seconds'] < TARGET_SECONDS)} |"
    )
    if server_side is not None:
        print(f"| ↳ server-side `finalize` (metric, no HTTP) (s) | {server_side:.2f} | | | |")
    print(
        f"| ↳ BUILDER: `build_docx` alone, median of {RUNS} (s) | {builder['seconds']:.2f} "
        f"| {bare['seconds']:.2f} | {builder['seconds'] / bare['seconds']:.1f} | |"
    )
    print(f"| ↳ the rest: finalize − build_docx (s) | {rest:.2f} | | | |")
    print(
        f"| ↳ of which `content_hash` + event chain, recomputed here (s) "
        f"| {check['hashing'] + check['chaining']:.2f} | | | |"
    )
    print(
        f"| server + {fin['workers']} worker processes, peak RSS during finalize (MB) "
        f"| **{fin['rss_peak'] / MB:.0f}** | | | < {TARGET_MB:.0f} {ok(fin['rss_peak'] / MB < TARGET_MB)} |"
    )
    if fin["server_peak"] is not None:
        print(f"| ↳ of which the server process (MB) | {fin['server_peak'] / MB:.0f} | | | |")
    if fin["vad_peak"] is not None and fin["hwm"] is not None:
        print(
            f"| ↳ of which the VAD child, scoring a recording session's audio (MB) "
            f"| {fin['vad_peak'] / MB:.0f} | | | |"
        )
        without = (fin["hwm"] - fin["vad_peak"]) / MB
        print(f"| ↳ server + finalize workers, without the VAD child (MB) | {without:.0f} | | | |")
    print(
        f"| server + workers, RSS increase during finalize (MB; {fin['rss_before'] / MB:.0f} before) "
        f"| **{fin_mb:.0f}** | {bare_mb:.0f} (bare python-docx) | {fin_mb / max(bare_mb, 1):.1f} "
        f"| < {TARGET_MB:.0f} {ok(fin_mb < TARGET_MB)} |"
    )
    print(
        f"| ↳ BUILDER: `build_docx` RSS increase (MB) | {builder_mb:.0f} | {bare_mb:.0f} "
        f"| {builder_mb / max(bare_mb, 1):.1f} | |"
    )
    print(
        f"\nRSS of the server and its worker processes: VmHWM of each reset before finalize "
        f"({'yes' if fin['hwm'] is not None else 'no, sampled only'}), peak = the sum of their peaks; "
        f"{fin['samples']} samples of the summed VmRSS at {RSS_PERIOD * 1000:.0f} ms, sampled peak "
        f"{fin['rss_sampled_peak'] / MB:.0f} MB. Baselines: RSS increase of a fresh subprocess "
        "during its first run (VmHWM − VmRSS before). By process, MB before → peak: "
        + ", ".join(f"{name} {a / MB:.0f} → {b / MB:.0f}" for name, a, b in fin["by_process"])
        + ".\n"
    )
    print("| other session, a `text` frame every 50 ms | frames | ack p50 (ms) | ack p99 (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, values in (("during the big finalize", during), ("nothing else running (baseline)", idle)):
        if not values:
            print(f"| {name} | 0 | | | |")
            continue
        print(
            f"| {name} | {len(values)} | {percentile(values, 0.5) * 1000:.1f} "
            f"| {percentile(values, 0.99) * 1000:.1f} | {max(values) * 1000:.1f} |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
