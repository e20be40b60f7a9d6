"""The private Redis that ``astra serve`` starts without ``REDIS_URL`` (server/redis_server.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import redis

from server.redis_server import EmbeddedRedis, find_redis_server


def test_embedded_redis_persists_every_write_and_does_not_compress_audio(redis_standalone: str) -> None:
    """AOF on, fsynced every second, no RDB snapshots; the AOF rewrite's RDB part is written
    uncompressed: it is mostly PCM audio, which LZF cannot shrink, and compressing it took a
    tenth of the machine's CPU in the ingest benchmark."""
    client = redis.Redis.from_url(redis_standalone, decode_responses=True)
    try:
        config = client.config_get("*")
    finally:
        client.close()
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert config["save"] == ""
    assert config["aof-use-rdb-preamble"] == "yes"
    assert config["rdbcompression"] == "no"


def _slow_loading_redis(tmp_path: Path, pid_file: Path) -> str:
    """A redis-server that reads its data set back one key a millisecond and answers clients
    while it does (as one with gigabytes of audio in its AOF does for minutes)."""
    wrapper = tmp_path / "slow-loading-redis-server"
    wrapper.write_text(
        f'#!/bin/sh\necho $$ > "{pid_file}"\nexec "{find_redis_server()}" "$@" '
        "--key-load-delay 1000 --loading-process-events-interval-bytes 1024\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_redis_loading_its_data_set_is_waited_for_and_a_failed_start_leaves_no_redis(
    tmp_path: Path,
) -> None:
    """Review: a start gave up after 20 s while Redis answered LOADING (reading back an AOF of
    hours of audio after a restart takes minutes), so the server did not start, and the Redis it
    had started kept running. It now waits while Redis says it is loading (up to
    ``loading_timeout``), and a start that fails stops its Redis."""
    data = tmp_path / "data"
    with EmbeddedRedis(data) as first:
        client = redis.Redis(unix_socket_path=str(first.socket))
        client.mset({f"key:{i}": "x" for i in range(3000)})
        client.bgrewriteaof()  # the keys in the AOF's RDB part, which the load delay applies to
        deadline = time.monotonic() + 30
        while (
            client.info("persistence")["aof_rewrite_in_progress"]
            or client.info("persistence")["aof_rewrite_scheduled"]
        ):
            assert time.monotonic() < deadline, "the AOF rewrite did not end"
            time.sleep(0.05)
        client.close()
    pid_file = tmp_path / "redis.pid"
    slow = _slow_loading_redis(tmp_path, pid_file)
    with pytest.raises(TimeoutError, match="still loading"):
        EmbeddedRedis(data, binary=slow).start(timeout=0.2, loading_timeout=0.3)
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left running
        os.kill(int(pid_file.read_text()), 0)
    loaded = EmbeddedRedis(data, binary=slow)
    loaded.start(timeout=0.2)  # ~3 s of loading, waited for
    try:
        client = redis.Redis(unix_socket_path=str(loaded.socket))
        assert client.dbsize() == 3000
        client.close()
    finally:
        loaded.stop()
