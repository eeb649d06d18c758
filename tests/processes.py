"""Long-running commands that tests start and watch: in their own session, output collected line by line,
stopped the way Ctrl-C stops them (and killed if they do not stop)."""

import os
import signal
import subprocess
import threading
from pathlib import Path


class Running:
    def __init__(self, argv: list[str], cwd: Path, env: dict) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
