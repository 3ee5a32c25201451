"""High-throughput dopant screening for Li solid electrolytes (Rao, Yao, Grabow 2020 method).

Layers, dependencies pointing one way (tests/test_layers.py checks it): ``errors``, ``fileio``, ``names``,
``settings_base`` <- ``structures``, ``ann``, ``md``, ``engines``, ``analysis``, ``active_learning``, ``validation``
(pure physics and ML) <- ``study``, ``schemas``, ``db``, ``report`` <- ``jobs`` <- ``fireworks`` and ``builders``
(orchestration) <- ``cli``.
"""

from dopant_workflows._version import __version__

__all__ = ["__version__"]
