"""Record layouts of the two kinds of trace sparkxd handles.

* A *physical* trace is a stream of memory requests: byte address, read/write and an optional
  arrival cycle (-1 = none: the request is offered as soon as the memory system accepts it).
* A *logical* trace is the SNN's weight-access stream before placement: at ``time_ns`` the
  accelerator reads ``n_words`` consecutive weight words of weight-matrix row ``row`` (an input
  neuron), starting at word ``first_word`` counted *within that row* (0 for a whole-row read),
  while processing test image ``image``.
  ``snn`` emits arrays with exactly these fields (it imports nothing of ours, so it declares
  the same layout itself; a test checks the two stay equal).
"""
import numpy as np

REQUEST_DTYPE = np.dtype([
    ("addr", np.uint64),
    ("is_write", np.bool_),
    ("arrive", np.int64),
])

LOGICAL_ACCESS_DTYPE = np.dtype([
    ("time_ns", np.int64),
    ("row", np.int32),
    ("first_word", np.int64),
    ("n_words", np.int32),
    ("image", np.int32),
])
