"""Run a command with a real PostgreSQL and Redis, starting throwaway ones when none is configured.

    python -m tests.services -- pytest ...

When DATABASE_URL is unset: initdb a temporary cluster with the machine's PostgreSQL binaries (as
the `postgres` user when we are root: initdb refuses root) on a free loopback port. When REDIS_URL
is unset: start `redis-server` on a free loopback port. Both are stopped and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> str:
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        return explicit
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return os.path.dirname(candidates[0])
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    sys.exit("PostgreSQL server binaries not found: install postgresql (the .ci/run script does) or set DATABASE_URL.")


def as_postgres_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class Postgres:
    def __init__(self):
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="loanfund-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)

    def start(self) -> str:
        run = lambda cmd: subprocess.run(as_postgres_user(cmd), check=True, stdout=subprocess.DEVNULL)  # noqa: E731
        run([f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB")
        run([f"{self.bindir}/pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "start"])
        wait_port(self.port)
        subprocess.run(as_postgres_user([f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "loanfund"]),
                       check=True)
        return f"postgres://postgres@127.0.0.1:{self.port}/loanfund"

    def stop(self):
        subprocess.run(as_postgres_user([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None

    def start(self) -> str:
        binary = shutil.which("redis-server")
        if not binary:
            sys.exit("redis-server not found: install redis-server (the .ci/run script does) or set REDIS_URL.")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL)
        wait_port(self.port)
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit("usage: python -m tests.services -- COMMAND ...")
    started = []
    env = dict(os.environ)
    try:
        if not env.get("DATABASE_URL"):
            pg = Postgres()
            started.append(pg)
            env["DATABASE_URL"] = pg.start()
            print(f"[services] PostgreSQL at {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            rd = Redis()
            started.append(rd)
            env["REDIS_URL"] = rd.start()
            print(f"[services] Redis at {env['REDIS_URL']}", flush=True)
        proc = subprocess.Popen(argv, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()
    finally:
        for service in reversed(started):
            service.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
