"""A realistic redis-py session against DiskDB, with redis-py's default
protocol (RESP3 since redis-py 8). Usage: session.py PORT [PASSWORD]
Exits non-zero (with a traceback) on the first unexpected reply."""

import sys

import redis


def main() -> None:
    port = int(sys.argv[1])
    password = sys.argv[2] if len(sys.argv) > 2 else None
    r = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
    assert r.ping() is True
    hello = r.execute_command("HELLO")
    assert hello["proto"] == r.connection_pool.connection_kwargs.get("protocol", 3) or hello["proto"] in (2, 3), hello
    assert r.flushall() is True

    # Strings, counters, expiry.
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == "hello"
    assert r.set("greeting", "again", nx=True) is None
    assert r.incr("counter") == 1
    assert r.incrby("counter", 41) == 42
    assert r.incrbyfloat("float", 1.5) == 1.5
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "missing") == ["1", "2", None]
    assert r.expire("a", 100) is True
    assert 0 < r.ttl("a") <= 100
    assert r.persist("a") is True
    assert r.ttl("a") == -1
    assert r.append("greeting", "!") == 6
    assert r.getrange("greeting", 0, 2) == "hel"
    assert r.exists("a", "b", "nope") == 2
    assert r.type("a") == "string"
    assert r.delete("b") == 1

    # Hashes (a map reply in RESP3, a dict in redis-py either way).
    assert r.hset("user:1", mapping={"name": "ada", "visits": "1"}) == 2
    assert r.hincrby("user:1", "visits", 2) == 3
    assert r.hgetall("user:1") == {"name": "ada", "visits": "3"}
    assert r.hmget("user:1", "name", "nope") == ["ada", None]

    # Sorted sets with scores (doubles in RESP3).
    assert r.zadd("board", {"ada": 1.5, "bob": 3, "cy": -2}) == 3
    assert r.zrange("board", 0, -1, withscores=True) == [("cy", -2.0), ("ada", 1.5), ("bob", 3.0)]
    assert r.zscore("board", "ada") == 1.5
    assert r.zincrby("board", 0.25, "ada") == 1.75
    assert r.zrevrange("board", 0, 0) == ["bob"]

    # Sets and lists.
    assert r.sadd("tags", "a", "b", "a") == 2
    assert r.smembers("tags") == {"a", "b"}
    assert r.rpush("queue", "j1", "j2") == 2
    assert r.lpop("queue") == "j1"

    # WRONGTYPE surfaces as ResponseError with Redis's text.
    try:
        r.lpush("user:1", "x")
        raise AssertionError("LPUSH on a hash must fail")
    except redis.ResponseError as e:
        assert str(e).startswith("WRONGTYPE Operation against a key holding the wrong kind of value"), e

    # Errors surface as ResponseError.
    try:
        r.incr("greeting")
        raise AssertionError("INCR on a non-integer must fail")
    except redis.ResponseError as e:
        assert "not an integer" in str(e), e

    # Pipelines without a transaction.
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.set(f"key:{i}", i)
    p.get("key:7")
    res = p.execute()
    assert res[:100] == [True] * 100 and res[100] == "7", res[-3:]

    # SCAN through every key.
    seen = set(r.scan_iter(match="key:*", count=7))
    assert seen == {f"key:{i}" for i in range(100)}, len(seen)
    assert r.dbsize() == 108, r.dbsize()

    # Databases.
    r2 = redis.Redis(host="127.0.0.1", port=port, password=password, db=3, decode_responses=True)
    assert r2.get("greeting") is None
    r2.set("only-in-3", "x")
    assert r.get("only-in-3") is None

    # Transactions: pipeline(transaction=True) is MULTI/EXEC; WATCH with a
    # concurrent change makes redis-py raise WatchError.
    p = r.pipeline(transaction=True)
    p.incr("tx:counter").incr("tx:counter").lpush("tx:list", "a", "b").lrange("tx:list", 0, -1)
    assert p.execute() == [1, 2, 2, ["b", "a"]]
    other = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
    with r.pipeline() as p:
        p.watch("tx:counter")
        other.incr("tx:counter")
        p.multi()
        p.incr("tx:counter")
        try:
            p.execute()
            raise AssertionError("EXEC should have been aborted by WATCH")
        except redis.WatchError:
            pass
    assert r.get("tx:counter") == "3"

    def bump(pipe: redis.client.Pipeline) -> None:
        v = int(pipe.get("tx:counter"))
        pipe.multi()
        pipe.set("tx:counter", v + 10)

    r.transaction(bump, "tx:counter")
    assert r.get("tx:counter") == "13"

    # Pub/Sub as Celery and RQ use it: channels, patterns, get_message.
    ps = other.pubsub()
    ps.subscribe("jobs")
    ps.psubscribe("events.*")
    for _ in range(2):
        m = ps.get_message(timeout=5)
        assert m and m["type"] in ("subscribe", "psubscribe"), m
    assert r.publish("jobs", "job-1") == 1
    assert r.publish("events.done", "e-1") == 1
    got = [ps.get_message(timeout=5) for _ in range(2)]
    assert got[0]["type"] == "message" and got[0]["data"] == "job-1", got
    assert got[1]["type"] == "pmessage" and got[1]["channel"] == "events.done", got
    assert r.pubsub_numsub("jobs") == [("jobs", 1)]
    ps.close()

    info = r.info()
    assert info["redis_version"].startswith("7."), info.get("redis_version")
    assert r.config_get("maxclients")["maxclients"].isdigit()
    print("redis-py session OK, protocol", hello["proto"])


if __name__ == "__main__":
    main()
