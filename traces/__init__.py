"""sparkxd traces: physical request traces and logical weight-access traces.

Readers, writers and format conversion for the request formats listed in traces.formats
(native, ramulator, dramsim3, ramulator2, npy, npz; text ones optionally gzipped), logical
weight-access traces (traces.logical), and seeded synthetic generators (traces.generate,
``python -m traces.generate --help``). Command line: ``python -m traces --help``.
"""
from .errors import TraceError
from .formats import FORMATS, detect_format
from .logical import is_logical_trace, read_logical, write_logical
from .reader import iter_trace_chunks, read_trace
from .records import LOGICAL_ACCESS_DTYPE, REQUEST_DTYPE
from .writer import write_trace

__all__ = ["TraceError", "FORMATS", "detect_format", "read_trace", "iter_trace_chunks",
           "write_trace", "read_logical", "write_logical", "is_logical_trace",
           "REQUEST_DTYPE", "LOGICAL_ACCESS_DTYPE"]
