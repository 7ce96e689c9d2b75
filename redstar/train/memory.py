"""Peak memory of the tensors a piece of code creates, on any device (the CPU included).

``torch.cuda.max_memory_allocated`` exists only on a GPU; on the CPU the process's resident
size mixes in the allocator, the libraries and the model. :class:`TensorMemory` is a
dispatch mode that sees every tensor an operator returns (forward, autograd's backward and
saved tensors alike), counts each new storage once while it is alive and keeps the peak:

    with TensorMemory() as mem:
        loss = loss_fn(model, batch); loss.backward()
    mem.peak_bytes        # the most bytes of tensors created inside, alive at one time

Tensors that existed before (the weights) are not counted; a gradient that lands in
``param.grad`` is. Views and in-place results share their storage and are not counted again.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class TensorMemory(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.live: dict[int, int] = {}  # storage data_ptr -> bytes
        self.current = 0
        self.peak_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        # an output sharing an input's storage (a view, an in-place result) is no new memory
        inputs = {
            a.untyped_storage().data_ptr()
            for a in tree_flatten((args, kwargs))[0]
            if isinstance(a, torch.Tensor) and a.device.type != "meta"
        }
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta" and not t._is_view():
                if t.untyped_storage().data_ptr() not in inputs:
                    self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key, size = storage.data_ptr(), storage.nbytes()
        if size == 0 or key in self.live:
            return
        self.live[key] = size
        self.current += size
        self.peak_bytes = max(self.peak_bytes, self.current)
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)
