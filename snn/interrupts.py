"""Ctrl-C that reaches a command line as exactly one interrupt, wherever it lands.

Python raises ``KeyboardInterrupt`` at the main thread's next step. Three places make that
step go wrong, all seen in ``python -m bench.sweep_mappings`` when Ctrl-C lands while numba
compiles on a cold cache (tests/test_cli_catalogue.py, the Ctrl-C rows and the
``test_ctrl_c_*`` tests):

* **Swallowed**: inside a ctypes callback (llvmlite's object-cache hook) or a ``__del__``,
  Python cannot raise; it hands the interrupt to ``sys.unraisablehook`` ("Exception ignored")
  and goes on. The compiler may then fail with an unrelated error ("no compiled object yet"),
  or finish as if nothing happened. :class:`CtrlC` records the swallowed interrupt, delivers it
  again to the main thread a moment later (again after each time it is swallowed once more),
  and reports an error that follows it as the interrupt it is.
* **Delivered twice**: a re-delivery can be on its way when the body has already stopped;
  :meth:`CtrlC.end` closes deliveries and lets one already made land where it is dropped.
* **Remembered by CPython**: a ``KeyboardInterrupt`` that leaves code run by ``exec()`` of a
  string (numba generates code that way) marks the interpreter as "ended by an unhandled
  Ctrl-C" even when a caller catches it (CPython 3.11, ``run_eval_code_obj``); at exit the
  process then kills itself with SIGINT (status -2 instead of 130). :func:`call` clears the
  mark: each ``exec()`` of a string starts by clearing it.

A Ctrl-C can also land inside a half-built object (numba's compiler, say) whose ``__del__``
then fails: :func:`call` frees what the interrupt left with such errors silenced, so no "Exception
ignored" traceback follows the tool's one line.

This file is kept identical in ``traces/`` and ``snn/`` (each imports nothing of ours;
tests/test_cli_catalogue.py checks the copies match).
"""
import _thread
import gc
import sys
import threading
import time

#: how long a swallowed Ctrl-C waits before it is delivered again: long enough for the code
#: that swallowed it (a callback, a finalizer) to return first
REDELIVER_AFTER_S = 0.01


def _checkpoint():
    """A Python-level call: the main thread looks for a pending interrupt on entering it."""


class CtrlC:
    """Ctrl-C bookkeeping for one run of a command line's body.

    ``hook`` is the ``sys.unraisablehook`` to install while the body runs: a swallowed
    ``KeyboardInterrupt`` is recorded and delivered again; anything else goes to ``previous``.
    """

    def __init__(self, previous):
        self.previous = previous
        self.swallowed = False          # a Ctrl-C was swallowed at least once
        self._lock = threading.Lock()
        self._open = True               # re-deliveries allowed (the body still runs)
        self._waiting = False           # a re-delivery is scheduled and not yet made
        self._delivered = False         # a re-delivery was made

    def hook(self, unraisable):
        if unraisable.exc_type is None or not issubclass(unraisable.exc_type, KeyboardInterrupt):
            self.previous(unraisable)
            return
        self.swallowed = True
        with self._lock:
            if self._open and not self._waiting:   # from another thread: it lands after this hook
                self._waiting = True
                _thread.start_new_thread(self._redeliver, ())

    def _redeliver(self):
        time.sleep(REDELIVER_AFTER_S)
        with self._lock:
            self._waiting = False
            if self._open:
                self._delivered = True
                _thread.interrupt_main()

    def end(self):
        """No more re-deliveries; one already made lands here and is dropped. Returns whether a
        Ctrl-C was swallowed while the body ran. A ``KeyboardInterrupt`` can still land on the
        way in (at the call itself): the caller catches it and calls again."""
        with self._lock:
            self._open = False
        if self._delivered:
            try:
                for _ in range(3):
                    _checkpoint()
            except KeyboardInterrupt:
                pass
        return self.swallowed


def call(body, *args):
    """``body(*args)`` with Ctrl-C made to reach it once: ``(status, None)`` when it returns,
    ``(None, exception)`` when it raises. After a Ctrl-C (and after an error that followed a
    swallowed one) the exception is a fresh ``KeyboardInterrupt``: the interrupted frames are
    already freed, errors from their finalizers silenced, and CPython's mark cleared."""
    previous = sys.unraisablehook
    ctrl_c = CtrlC(previous)
    sys.unraisablehook = ctrl_c.hook
    try:
        try:
            status, failure = body(*args), None
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller
            status, failure = None, exc
        while True:
            try:
                swallowed = ctrl_c.end()
                break
            except KeyboardInterrupt:    # a re-delivered Ctrl-C landing after the body stopped
                continue
        if isinstance(failure, KeyboardInterrupt) or (swallowed and isinstance(failure, Exception)):
            sys.unraisablehook = _say_nothing
            failure = None               # the interrupted frames go now, their errors unsaid
            gc.collect()
            exec("pass")  # noqa: S102 -- clears CPython's mark (module docstring)
            return None, KeyboardInterrupt()
        return status, failure
    finally:
        sys.unraisablehook = previous


def _say_nothing(unraisable):
    """An unraisable-exception hook that says nothing."""
