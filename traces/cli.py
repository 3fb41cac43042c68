"""Shared bits of the traces command lines: a parser whose errors are one line + exit 2, and
human-friendly sizes."""
import argparse
import re

_SIZE_RE = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+)\s*([kKmMgGtT]?)(i?B)?\s*")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class Parser(argparse.ArgumentParser):
    """ArgumentParser that reports a usage error as one line and exits with status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_size(text):
    """Bytes from '4096', '0x1000', '128K', '128KiB', '1G', '1GiB' (binary multiples)."""
    match = _SIZE_RE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 4096, 0x1000, 128KiB, 1GiB)")
    return int(match.group(1), 0) * _SCALE[match.group(2).lower()]


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"bad fraction {text!r} (expected 0..1)")
    return value


def int_at_least(minimum):
    """argparse type: an integer (decimal or 0x hex) >= ``minimum``."""
    def parse(text):
        try:
            value = int(text, 0)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"bad value {text!r} (expected an integer "
                                             f">= {minimum})")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
