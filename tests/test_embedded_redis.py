"""The private Redis that ``astra serve`` starts without ``REDIS_URL`` (server/redis_server.py)."""

from __future__ import annotations

import redis


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
