"""What every sparkxd command line shares (docs/cli.md): one-line errors with one prefix, exit
statuses, checked option values and output paths, quiet broken pipes and a one-line Ctrl-C.

* ``Parser``: an ArgumentParser whose usage errors are one line,
  ``python -m TOOL: error: MESSAGE (see --help)``, exit status 2.
* ``run(prog, body, argv)``: runs a CLI's body and turns what can go wrong into one line on
  standard error: ``CliError`` (bad input, status 2), Ctrl-C (``prog: interrupted (...)``,
  status 130), a closed standard output (``| head -1``: quiet, status 0), anything unexpected
  (status 1; ``SPARKXD_TRACEBACK=1`` shows the traceback), an operating-system error such as
  a full disk (status 1). Never a traceback.
* argparse types with documented ranges (``int_in``, ``float_in``, ``fraction``, ``comma_list``)
  and ``parse_size`` for byte sizes; nothing is clamped.
* ``check_outputs``: output files checked before any work (directory exists -- or, where the
  tool creates it, can be created -- and is writable, not a file where a folder is needed, not
  a directory, not an input, not given twice).
* ``comma_list_action``: a list option that also takes the older space-separated form.

This module is in ``traces`` because every other package may import ``traces`` (README,
"Import rules"); it imports nothing of ours.
"""
import argparse
import math
import os
import re
import sys
import tempfile

from traces import interrupts

_SIZE_RE = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+)\s*([kKmMgGtT]?)(i?B)?\s*")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
#: set to 1 to see the traceback of an unexpected error instead of its one-line summary
TRACEBACK_ENV = "SPARKXD_TRACEBACK"


class CliError(Exception):
    """Bad input: ``str()`` is the one line printed after ``prog: error: `` (exit status 2)."""


def tool_name(prog):
    """``python -m traces`` for ``python -m traces convert`` (a subcommand's parser)."""
    words = prog.split()
    return " ".join(words[:3]) if words[:2] == ["python", "-m"] else prog


class Parser(argparse.ArgumentParser):
    """ArgumentParser that reports a usage error as one line and exits with status 2."""

    def error(self, message):
        message = " ".join(message.split())          # argparse may wrap long messages
        self.exit(2, f"{tool_name(self.prog)}: error: {message} (see --help)\n")


def note(prog, message):
    """A one-line note on standard error (deprecated spellings, defaults that differ)."""
    print(f"{tool_name(prog)}: note: {message}", file=sys.stderr)


def deprecated_alias(new):
    """argparse action for an old option spelling: stores into the new option's ``dest`` and
    prints a one-line note naming ``new``."""
    class _Deprecated(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            note(parser.prog, f"{option_string} is deprecated; use {new}")
            setattr(namespace, self.dest, values)
    return _Deprecated


def _quiet_stdout():
    """Point standard output at /dev/null, so nothing more is written to a closed pipe
    (Python's own advice for SIGPIPE; the interpreter flushes stdout again at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # no real file descriptor (e.g. captured)
        pass


def run(prog, body, argv=None, interrupted="nothing was written"):
    """``body(argv)`` (returning an exit status) with the shared rules; returns the status.

    ``interrupted``: what the Ctrl-C line says was kept (a string, or a function returning it).
    Ctrl-C ends the tool as one interrupt wherever it lands (:mod:`traces.interrupts`).
    """
    prog = tool_name(prog)
    status, failure = interrupts.call(_body_then_flush, body, argv)
    if failure is None:
        return status
    if not isinstance(failure, KeyboardInterrupt):
        return _status_of(prog, failure)
    kept = interrupted() if callable(interrupted) else interrupted
    print(f"{prog}: interrupted ({kept})", file=sys.stderr)
    return 130


def _body_then_flush(body, argv):
    status = body(argv)
    sys.stdout.flush()                       # a closed pipe shows here, not at interpreter exit
    return status


def _status_of(prog, failure):
    """Exit status for what ``body`` raised (not a Ctrl-C), its one line printed."""
    if isinstance(failure, SystemExit):      # argparse: --help (0) or a usage error (2), printed
        code = failure.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if isinstance(failure, CliError):
        print(f"{prog}: error: {failure}", file=sys.stderr)
        return 2
    if isinstance(failure, BrokenPipeError):
        _quiet_stdout()
        return 0
    if isinstance(failure, OSError):         # e.g. a disk that filled up while writing
        where = f"{failure.filename}: " if failure.filename else ""
        print(f"{prog}: error: {where}{failure.strerror or failure}", file=sys.stderr)
        return 1
    if isinstance(failure, MemoryError):
        print(f"{prog}: error: out of memory (try smaller sizes or counts)", file=sys.stderr)
        return 1
    if not isinstance(failure, Exception) or os.environ.get(TRACEBACK_ENV):
        raise failure                        # GeneratorExit and kin; or the traceback asked for
    text = " ".join(str(failure).split()) or "(no message)"
    print(f"{prog}: error: unexpected {type(failure).__name__}: {text} (a bug: please report it; "
          f"{TRACEBACK_ENV}=1 shows the traceback)", file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------------------
# Option values
# ------------------------------------------------------------------------------------------

def parse_size(text):
    """Bytes from '4096', '0x1000', '128K', '128KiB', '1G', '1GiB' (binary multiples)."""
    match = _SIZE_RE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 4096, 0x1000, 128KiB, 1GiB)")
    return int(match.group(1), 0) * _SCALE[match.group(2).lower()]


def _interval(lo, hi, lo_open=False, hi_open=False):
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f"{left}{lo:g}, {hi:g}{right}"


def float_in(lo, hi, *, lo_open=False, hi_open=False, what="a number"):
    """argparse type: a finite number in [lo, hi] (``lo_open``/``hi_open``: that end excluded)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = (math.isfinite(value) and (value > lo if lo_open else value >= lo)
              and (value < hi if hi_open else value <= hi))
        if not ok:
            raise argparse.ArgumentTypeError(
                f"bad value {text!r} (expected {what} in {_interval(lo, hi, lo_open, hi_open)})")
        return value
    parse.__name__ = f"number in {_interval(lo, hi, lo_open, hi_open)}"
    return parse


fraction = float_in(0.0, 1.0, what="a fraction")


def int_in(minimum, maximum=None):
    """argparse type: an integer (decimal or 0x hex) in [minimum, maximum] (no maximum: None)."""
    def parse(text):
        try:
            value = int(text, 0)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            expect = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise argparse.ArgumentTypeError(f"bad value {text!r} (expected an integer {expect})")
        return value
    parse.__name__ = f"integer >= {minimum}" if maximum is None else f"integer in [{minimum}, {maximum}]"
    return parse


def int_at_least(minimum):
    """argparse type: an integer (decimal or 0x hex) >= ``minimum``."""
    return int_in(minimum)


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
#: seeds: any integer numpy's generators take
seed_int = int_in(0, (1 << 63) - 1)


def comma_list(item=str, *, choices=None, unique=True, example="a,b"):
    """argparse type: a comma-separated list (``1.35,1.2``); each item through ``item`` (an
    argparse type), optionally one of ``choices``; no empty item, no repeated item."""
    def parse(text):
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise argparse.ArgumentTypeError(f"bad list {text!r}: empty item (write items "
                                             f"separated by commas, e.g. {example})")
        out = []
        for token in items:
            if choices is not None and token not in choices:
                raise argparse.ArgumentTypeError(f"bad item {token!r} in {text!r} (choose from "
                                                 f"{', '.join(map(str, choices))})")
            out.append(item(token))
        if unique and len(set(out)) != len(out):
            raise argparse.ArgumentTypeError(f"bad list {text!r}: an item repeats")
        return out
    parse.__name__ = "comma-separated list"
    return parse


def comma_list_action(item=str, *, choices=None, example="a,b"):
    """argparse action for a list option given ``nargs="+"`` (or ``"*"``: the option alone gives
    an empty list): a comma list (``--bers 1e-6,1e-5``, checked as by ``comma_list``); the older
    space-separated form (``--bers 1e-6 1e-5``) still works, with a one-line note."""
    parse_list = comma_list(item, choices=choices, example=example)

    class _CommaList(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            if len(values) > 1:
                note(parser.prog, f"space-separated lists are deprecated; write {option_string} "
                                  f"{','.join(values)}")
            try:
                value = parse_list(",".join(values)) if values else []
            except (argparse.ArgumentTypeError, ValueError) as exc:
                parser.error(f"argument {option_string}: {exc}")
            setattr(namespace, self.dest, value)
    return _CommaList


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------

def directory_writable(directory):
    """True if this process can create a file in ``directory`` (tried, not guessed from the
    mode bits: root may write anywhere except read-only file systems and /proc)."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def _same_path(a, b):
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_output_file(option, path, inputs=(), create_parent=False):
    """CliError unless ``path`` can be written as a file: its directory exists (with
    ``create_parent``: or can be created, as the tool will), is a directory and is writable;
    ``path`` is not a directory and not one of ``inputs`` (paths). Creates nothing."""
    text = os.fspath(path)
    if not text.strip():
        raise CliError(f"{option}: empty file name")
    if text == "-":
        raise CliError(f"{option} -: give a file name (this output cannot go to standard output)")
    if os.path.isdir(text):
        raise CliError(f"{option} {text}: is a directory (give a file name)")
    parent = os.path.dirname(text) or "."
    if not os.path.isdir(parent):
        existing = os.path.abspath(parent)
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise CliError(f"{option} {text}: {_shown(existing, text)} is a file, not a directory")
        if not create_parent:
            raise CliError(f"{option} {text}: directory {parent} does not exist")
        if not directory_writable(existing):
            raise CliError(f"{option} {text}: cannot create directory {parent} "
                           f"({_shown(existing, text)} is not writable)")
    elif not directory_writable(parent):
        raise CliError(f"{option} {text}: directory {parent} is not writable")
    for inp in inputs:
        if inp is not None and _same_path(text, inp):
            raise CliError(f"{option} {text}: is the input {os.fspath(inp)}; refusing to overwrite it")


def _shown(absolute, given):
    """``absolute`` as the user would write it: relative when ``given`` was relative."""
    if os.path.isabs(given):
        return absolute
    rel = os.path.relpath(absolute)
    return absolute if rel.startswith("..") else rel


def check_outputs(outputs, inputs=(), create_parent=False):
    """``check_output_file`` for each (option, path) of ``outputs`` (a dict or pairs; None paths
    skipped), and no two of them the same file."""
    seen = {}
    pairs = outputs.items() if isinstance(outputs, dict) else outputs
    for option, path in pairs:
        if path is None:
            continue
        check_output_file(option, path, inputs, create_parent)
        key = os.path.realpath(path)
        if key in seen:
            raise CliError(f"{option} {os.fspath(path)}: is also the {seen[key]} output")
        seen[key] = option


def check_creatable_dir(option, path):
    """CliError unless ``path`` is a directory this user can write, or can be created as one (the
    nearest existing folder above it is a writable directory). Creates nothing."""
    text = os.fspath(path)
    if not text.strip():
        raise CliError(f"{option}: empty directory name")
    full = os.path.abspath(os.path.expanduser(text))
    if os.path.exists(full):
        if not os.path.isdir(full):
            raise CliError(f"{option} {text}: exists and is not a directory")
        if not directory_writable(full):
            raise CliError(f"{option} {text}: directory is not writable")
        return
    existing = os.path.dirname(full)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise CliError(f"{option} {text}: {_shown(existing, text)} is a file, not a directory")
    if not directory_writable(existing):
        raise CliError(f"{option} {text}: cannot create it ({_shown(existing, text)} is not writable)")


def check_input_file(option, path):
    """CliError unless ``path`` is an existing, readable regular file (named by ``option``)."""
    text = os.fspath(path)
    if not os.path.exists(text):
        raise CliError(f"{option} {text}: no such file")
    if os.path.isdir(text):
        raise CliError(f"{option} {text}: is a directory, not a file")
    if not os.access(text, os.R_OK):
        raise CliError(f"{option} {text}: not readable")


def read_text_bytes(path, what, error=ValueError):
    """The whole content of the text file ``path``, a UTF-8 byte-order mark dropped; ``error``
    naming the path if it cannot be read or is binary where ``what`` (e.g. "a TOML spec") is
    expected. For whole small files (specs, data tables); traces stream through traces.sources."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if looks_binary(data[:4096]):
        raise error(f"{path}: a binary file, not {what}")
    return data


_TEXT_BYTES = bytes(range(0x20, 0x7f)) + b"\t\n\r\f\v\x1b" + bytes(range(0x80, 0x100))


def looks_binary(head):
    """True if ``head`` (the first bytes of a file) is not text: a NUL byte, more than 5 % control
    characters, or not UTF-8 with more than 30 % bytes above 0x7f (text in another 8-bit
    encoding, e.g. a Latin-1 comment, still counts as text)."""
    if not head:
        return False
    if b"\0" in head or len(head.translate(None, _TEXT_BYTES)) > len(head) / 20:
        return True
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 3:             # a character cut at the end of the head
            return False
    high = len(head) - len(head.translate(None, bytes(range(0x80, 0x100))))
    return high > 0.3 * len(head)
