"""Start, watch and stop a server process; build our small Maven projects once and cache them.

A server that fails to start raises :class:`ServerStartError` carrying the tail of its log, so a
red CI run says why instead of timing out silently.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_LINES = 40


class ServerStartError(RuntimeError):
    """A server did not become ready; the message ends with the tail of its log."""

    def __init__(self, name: str, reason: str, log_path: Path | None = None) -> None:
        tail = log_tail(log_path) if log_path else ""
        message = f"{name} failed to start: {reason}"
        if tail:
            message += f"\n--- last lines of {log_path} ---\n{tail}"
        super().__init__(message)


def cache_dir() -> Path:
    """Downloads and builds live outside the clone so a second start takes seconds."""
    root = Path(os.environ.get("CDP_CACHE_DIR", Path.home() / ".cache" / "cdp"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = fh.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServerStartError("java", "no `java` on PATH and JAVA_HOME unset (Java 17 is needed)")
    return found


def maven_classpath(project_dir: Path, name: str) -> list[Path]:
    """Build ``project_dir`` (a pom that copies its dependencies) once per content hash.

    Returns the classpath: the classes compiled from the project's ``src/*.java`` (if any, with
    plain ``javac``: no compiler plugin to download) and every dependency jar. Maven's own
    download cache (~/.m2) is reused across clones.
    """
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        if path.is_file() and "target" not in path.relative_to(project_dir).parts:
            digest.update(str(path.relative_to(project_dir)).encode())
            digest.update(path.read_bytes())
    out = cache_dir() / "maven" / f"{name}-{digest.hexdigest()[:16]}"
    done = out / ".complete"
    if not done.exists():
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        mvn = shutil.which("mvn")
        if not mvn:
            raise ServerStartError(name, "no `mvn` on PATH (Maven is needed to fetch the jars)")
        build_log = out / "build.log"
        with build_log.open("wb") as log:
            result = subprocess.run(
                [
                    mvn,
                    "-B",
                    "-q",
                    "-f",
                    str(project_dir / "pom.xml"),
                    f"-DbuildDirectory={out / 'target'}",
                    f"-DlibDirectory={out / 'lib'}",
                    "package",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise ServerStartError(name, f"maven build exited {result.returncode}", build_log)
        _compile(sorted(project_dir.glob("src/*.java")), out, name)
        done.touch()
    jars = sorted((out / "lib").glob("*.jar"))
    if not jars:
        raise ServerStartError(name, f"maven build produced no jars in {out}")
    classes = out / "classes"
    return [classes, *jars] if classes.exists() else jars


def _compile(sources: list[Path], out: Path, name: str) -> None:
    if not sources:
        return
    javac = Path(java_executable()).resolve().with_name("javac")
    if not javac.exists():
        raise ServerStartError(name, f"no javac beside {java_executable()} (a JDK 17 is needed)")
    log_path = out / "javac.log"
    with log_path.open("wb") as log:
        result = subprocess.run(
            [
                str(javac),
                "--release",
                "17",
                "-d",
                str(out / "classes"),
                "-cp",
                os.pathsep.join(str(jar) for jar in sorted((out / "lib").glob("*.jar"))),
                *map(str, sources),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise ServerStartError(name, f"javac exited {result.returncode}", log_path)


@dataclass
class ServerProcess:
    """One child process with its log file; stops gracefully, or kills."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            start_new_session=True,  # a Ctrl-C in the terminal does not reach the servers
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.25) -> None:
        deadline = time.monotonic() + timeout
        last_error = "not ready"
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.popen.returncode if self.popen else None
                raise ServerStartError(self.name, f"process exited with code {code}", self.log_path)
            try:
                if probe():
                    return
            except Exception as exc:  # the probe's failure is the reason we report
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(interval)
        self.stop()
        raise ServerStartError(
            self.name, f"not ready after {timeout:.0f}s ({last_error})", self.log_path
        )

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to the rest of the system."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
