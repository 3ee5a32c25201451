"""maggma builders (tasks -> diffusivity, conductivity, anderson_stuart documents).

Runnable with ``mrun`` and ``dopwf build``. The builders arrive with the workflow issue; this package is
installed now so that the layout (and ``mrun`` paths) stay fixed.
"""
