"""Whose job is it, is that worker alive, and should it stop.

A claimed job (labelapp.core.jobs.Job) names its owner (host, pid, process start time) and
the owner keeps its heartbeat: a training from a timer thread (`Heartbeat`), through data
loading, long epochs and evaluation alike; a synthesis job per image it makes. Recovery
takes a job over only when the owner is gone (same host, process dead) or silent past the
stale limit, never a slow but live one."""

import contextlib
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass

from celery.signals import worker_shutting_down
from django.db import OperationalError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: int | None  # process start time in clock ticks since boot (Linux), against pid reuse


def _process_start(pid: int) -> int | None:
    """A live process's start time from /proc (None: no such process, a zombie, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def current_owner() -> Owner:
    pid = os.getpid()
    return Owner(host=socket.gethostname(), pid=pid, started=_process_start(pid))


def owner_gone(host: str, pid: int | None, started: int | None) -> bool:
    """True only when it is certain: the owner ran on this host and that process has ended
    (or its pid now belongs to another process). Another host's worker is judged by its
    heartbeat alone."""
    if not host or pid is None or host != socket.gethostname():
        return False
    if started is not None:
        return _process_start(pid) != started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class StopRequest(threading.Event):
    """Set when a job must stop at its next safe point (a training: between two batches):
    `shutdown` (the worker is stopping; the job resumes later) or `lost` (the job is no
    longer this worker's: its project was deleted, or it was taken over after this worker
    went silent)."""

    reason = ""

    def request(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
            self.set()


class JobStopped(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Heartbeat:
    """A daemon thread that stamps a job's heartbeat every `interval` seconds while this
    owner holds it, and requests a stop (`lost`) when the row is no longer this owner's.
    `jobs` is the job model's manager (a labelapp.core.jobs.JobQuerySet)."""

    def __init__(self, *, jobs, job_id: int, owner: Owner, interval: float, stop: StopRequest):
        self.jobs, self.job_id, self.owner, self.interval, self.stop = jobs, job_id, owner, interval, stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{jobs.model.__name__}-{job_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._done.wait(self.interval):
                try:
                    beat = self.jobs.held_by(self.owner, pk=self.job_id).update(heartbeat_at=timezone.now())
                except OperationalError as exc:  # a locked SQLite file: the next beat tries again
                    logger.debug("%s %s: heartbeat skipped (%s)", self.jobs.model.__name__, self.job_id, exc)
                    continue
                if not beat:
                    self.stop.request("lost")
                    return
        finally:
            connection.close()  # this thread's own connection


@contextlib.contextmanager
def stop_on_sigterm(stop: StopRequest):
    """While a job runs, SIGTERM (a cold worker shutdown terminates its pool processes with it)
    stops it at its next safe point instead of killing the process mid-epoch. Only the main thread
    can install a handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.request("shutdown"))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


#: Celery task names whose work stops at its next batch on SIGTERM (`stop_on_sigterm`):
#: trainings, and the cross-fitted detectors of label scoring. Each tasks module adds its own.
STOP_ON_SHUTDOWN: set[str] = set()


@worker_shutting_down.connect
def stop_long_tasks_at_their_next_batch(**kwargs) -> None:
    """A warm shutdown (Ctrl-C, SIGTERM) waits for running tasks, and a training would hold
    it for minutes. The pool process of each task in STOP_ON_SHUTDOWN is asked to stop at
    its next batch instead (SIGTERM, handled by `stop_on_sigterm`): a training goes back in
    the queue and resumes from its last epoch checkpoint. Other tasks finish as usual."""
    from celery.worker import state

    for request in list(state.active_requests):
        if request.task_name in STOP_ON_SHUTDOWN and request.worker_pid:
            logger.info(
                "asking task %s (%s, pid %s) to stop at its next batch",
                request.id,
                request.task_name,
                request.worker_pid,
            )
            try:
                os.kill(request.worker_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
