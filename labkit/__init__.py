"""labkit: the small library behind the speaker-verification lab (Práctica 2, VoxCeleb).

Submodules are imported on demand (``import labkit.metrics``) so that the command line
and the notebooks start fast; see DESIGN.md for the layout.
"""

__version__ = "0.1.0"
