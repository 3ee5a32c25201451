"""High-throughput dopant screening for Li solid electrolytes (Rao, Yao, Grabow 2020 method).

Layers, dependencies pointing one way: ``structures``, ``ann``, ``md``, ``engines``, ``analysis`` (pure physics
and ML) <- ``schemas`` <- ``fireworks`` and ``builders`` (orchestration).
"""

from dopant_workflows._version import __version__

__all__ = ["__version__"]
