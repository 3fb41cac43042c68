"""The one exception every trace reader and writer raises for bad input.

Its message is exactly ``file:line: reason`` so that editors and terminals can jump to the
offending line. Line numbers are 1-based physical lines of the (decompressed) file; line 0 means
the file as a whole (missing, unreadable, empty, wrong kind, or a binary ``.npy``/``.npz`` whose
problem has no line).
"""


class TraceError(ValueError):
    """Malformed or unusable trace file; ``str(err) == f"{path}:{line}: {reason}"``."""

    def __init__(self, path, line, reason):
        self.path = str(path)
        self.line = int(line)
        self.reason = str(reason)
        super().__init__(f"{self.path}:{self.line}: {self.reason}")

    def __reduce__(self):
        # keeps the three-argument constructor picklable (errors cross process pools)
        return (TraceError, (self.path, self.line, self.reason))
